"""Liveness and readiness: /healthz answers while the process lives; /readyz answers 200
only while the database and Redis answer, and 503 naming what does not.

"Down" is a deployment whose settings point at a port where nothing listens, started in
a subprocess as it would be for real: nothing of the ORM or of Redis is patched.
"""

import json

import pytest

from tests.deploy_support import closed_port, production_env, run_python

# Asks the portal for /readyz through Django's test client, in the subprocess.
READYZ = (
    "import django; django.setup(); from django.test import Client; "
    "response = Client().get('/readyz'); "
    "print(response.status_code); print(response.content.decode())"
)


def _readyz(tmp_path, **variables: str) -> tuple[int, dict]:
    env = production_env(
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SECURE_SSL_REDIRECT="false",
        MEDIA_ROOT=str(tmp_path / "media"),
        **variables,
    )
    result = run_python("-c", READYZ, env=env)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split("\n", 1)
    return int(status), json.loads(body)


def test_healthz_asks_nothing_of_the_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_is_200_while_the_database_and_redis_answer(client, rq_queue):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"ready": True, "problems": []}
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_503_naming_the_database_when_it_is_down(tmp_path, rq_queue):
    redis_url = rq_queue.connection.connection_pool.connection_kwargs
    with closed_port() as port:
        status, body = _readyz(
            tmp_path,
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/portal",
            REDIS_URL=f"redis://{redis_url['host']}:{redis_url['port']}/{redis_url['db']}",
        )
    assert status == 503
    assert body == {"ready": False, "problems": ["the database does not answer (OperationalError)"]}


def test_readyz_is_503_naming_redis_when_it_is_down(tmp_path):
    with closed_port() as port:
        status, body = _readyz(
            tmp_path,
            DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
        )
    assert status == 503
    assert body == {
        "ready": False,
        "problems": [
            "the queue's Redis does not answer (ConnectionError)",
            "the cache's Redis does not answer (ConnectionError)",
        ],
    }
