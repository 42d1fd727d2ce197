"""Static files with debug off, as `make serve` serves them: WhiteNoise answers for the
hashed names that pages link, with a year-long immutable cache and compressed copies;
a plain name still answers, briefly cached."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.usefixtures("production_static")


def _linked(html: str, prefix: str) -> str:
    match = re.search(rf'"(/static/{re.escape(prefix)}\.[0-9a-f]{{12}}\.\w+)"', html)
    assert match, f"{prefix} is not linked under a hashed name"
    return match.group(1)


@pytest.mark.django_db
def test_pages_link_hashed_files_that_are_served_with_a_long_cache(settings):
    assert settings.DEBUG is False
    client = Client()
    html = client.get("/login/").content.decode()
    for url in (_linked(html, "css/portal"), _linked(html, "vendor/htmx/htmx-2.0.11.min")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "max-age=315360000, public, immutable"
        assert b"".join(response.streaming_content)


@pytest.mark.django_db
def test_compressed_copies_are_served_to_browsers_that_accept_them():
    client = Client()
    url = _linked(client.get("/login/").content.decode(), "css/portal")
    brotli = client.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert brotli["Content-Encoding"] == "br"
    assert brotli["Vary"] == "Accept-Encoding"
    gzip = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert gzip["Content-Encoding"] == "gzip"


@pytest.mark.django_db
def test_the_admins_own_files_are_served_too(admin_client):
    html = admin_client.get("/admin/").content.decode()
    url = _linked(html, "admin/css/base")
    assert Client().get(url).status_code == 200


def test_a_plain_name_answers_with_a_short_cache_and_a_missing_one_is_404():
    client = Client()
    plain = client.get("/static/css/portal.css")
    assert plain.status_code == 200
    assert plain["Cache-Control"] == "max-age=60, public"
    assert client.get("/static/css/nothing-here.css").status_code == 404
