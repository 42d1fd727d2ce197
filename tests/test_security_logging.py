"""No pre-shared key and no customer-link token reaches any log, at any level.

The portal's own `LOGGING` is installed at DEBUG (what `LOG_LEVEL=DEBUG` does), with its
handlers writing to a buffer instead of the console, filters and all. A provisioning, a
key rotation, status refreshes and the customer's link (valid, expired, revoked,
unknown, rate limited, refused input; through the test client and through runserver's
own request handler, which writes the access log) then run for real, and the buffer is
searched for every key the database holds and every token.
"""

import copy
import io
import logging
import logging.config
import secrets
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.log import configure_logging

from portal.log_redaction import REDACTED, RedactSecrets, redact
from tests.factories import VpnRequestFactory
from tests.status_support import bring_live, live_vpn
from vpn.choices import Routing, Stage
from vpn.models import IntakeLink, Tunnel
from vpn.services.changes import change_apply, change_propose, change_run_here
from vpn.services.intake import intake_link_create, intake_link_revoke
from vpn.services.stages import request_move
from vpn.services.status import status_refresh

# The libraries the settings keep below DEBUG, because they log secrets there.
CAPPED_LIBRARIES = ("botocore", "boto3", "s3transfer", "urllib3")


def _install(settings, *, lift_caps: bool = False) -> io.StringIO:
    """The portal's LOGGING at DEBUG, every handler writing to the returned buffer."""
    buffer = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["root"]["level"] = "DEBUG"
    for handler in config["handlers"].values():
        # Only stream handlers can be pointed at the buffer; a new kind needs this test.
        assert handler["class"] == "logging.StreamHandler", handler
        handler["stream"] = buffer
    if lift_caps:
        for name in CAPPED_LIBRARIES:
            config["loggers"][name] = {"level": "DEBUG"}
    logging.config.dictConfig(config)
    return buffer


@pytest.fixture
def debug_log(settings):
    """Everything logged at DEBUG through the portal's own handlers and filters."""
    yield _install(settings)
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


@pytest.fixture
def uncapped_debug_log(settings):
    """As `debug_log`, with the chatty libraries let down to DEBUG as well."""
    yield _install(settings, lift_caps=True)
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def _unfiltered_handlers() -> list[str]:
    """Handlers on any logger that could write a line without the redaction filter."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.getLogger().manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    found = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.NullHandler):
                continue
            if type(handler).__module__.startswith("_pytest"):  # pytest's own capture
                continue
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                found.append(f"{logger.name}: {handler!r}")
    return found


@contextmanager
def runserver_handler():
    """A server answering with the portal through runserver's request handler.

    That handler writes the access log (`django.server`), one line per request.
    """
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _links(request_id: int) -> dict[str, str]:
    """Tokens of a working, an expired and a revoked link to the request, and an unknown one."""
    tokens = {
        kind: intake_link_create(request_id=request_id, send_email=False)
        for kind in ("valid", "expired", "revoked")
    }
    now = timezone.now()
    IntakeLink.objects.filter(pk=tokens["expired"].link.pk).update(
        created_at=now - timedelta(days=30), expires_at=now - timedelta(seconds=1)
    )
    intake_link_revoke(link_id=tokens["revoked"].link.pk)
    return {
        **{kind: new.token for kind, new in tokens.items()},
        "unknown": secrets.token_urlsafe(32),
    }


def _psks() -> set[str]:
    psks = {tunnel.psk for tunnel in Tunnel.objects.all()}
    assert psks and all(psks)
    return psks


def _rotate(request, position: int) -> None:
    """Give a tunnel a new key through a change, run here (it then waits for the
    customer, the tunnel never having been up)."""
    change = change_propose(
        request_id=request.pk,
        kind="rotate_psk",
        values={"tunnels": position},
        reason="test",
        label="test",
    )
    change_apply(change_id=change.pk, label="test", confirmed=True, queue=False)
    change_run_here(change_id=change.pk, sleep=pytest.fail)


def _assert_nothing_secret(text: str, secrets_: set[str]) -> None:
    leaked = sorted(secret for secret in secrets_ if secret in text)
    assert not leaked, f"{len(leaked)} secrets in the log, e.g. …{leaked[0][-6:]}"


@pytest.mark.django_db(transaction=True)
def test_provisioning_status_and_customer_link_log_no_secret(
    debug_log, aws_sandbox, run_jobs, settings
):
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region="eu-west-2",
        routing=Routing.BGP,
        bgp_asn=65123,
        advertised_prefixes=["10.77.0.0/16"],
        nat_wanted=False,
    )
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, note="test")
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    psks = _psks()
    _rotate(request, 1)
    psks |= _psks()
    assert len(psks) == 3
    bring_live(aws_sandbox, request)

    tokens = _links(request.pk)
    client = Client()
    expected = {
        f"/intake/{tokens['valid']}/": 200,
        f"/intake/{tokens['valid']}/pack/pdf/": 200,
        f"/intake/{tokens['valid']}/pack/nonsense/": 404,
        f"/intake/{tokens['expired']}/": 410,
        f"/intake/{tokens['revoked']}/": 410,
        f"/intake/{tokens['unknown']}/": 404,
        f"/intake/{tokens['unknown']}/pack/zip/": 404,
        f"/intake/{tokens['valid'][:-1]}/": 404,
        f"/intake/{tokens['valid']}/?step=%00": 400,
    }
    for path, status in expected.items():
        assert client.get(path).status_code == status, path
    with runserver_handler() as base_url:
        assert _fetch(f"{base_url}/intake/{tokens['valid']}/") == 200
        assert _fetch(f"{base_url}/intake/{tokens['unknown']}/") == 404
    settings.INTAKE_RATE_LIMIT_PER_TOKEN = 1
    assert client.get(f"/intake/{tokens['expired']}/").status_code == 429

    assert _unfiltered_handlers() == []
    text = debug_log.getvalue()
    _assert_nothing_secret(text, psks | set(tokens.values()) | {tokens["valid"][:-1]})
    # The search is not vacuous: the log holds DEBUG lines, the AWS calls (the sandbox
    # logs one line per call), the warnings and the access log, each path redacted.
    assert " DEBUG " in text
    for action in ("CreateVpnConnection", "ModifyVpnTunnelOptions", "DescribeVpnConnections"):
        assert action in text
    assert f"Not Found: /intake/{REDACTED}/" in text
    assert f"Gone: /intake/{REDACTED}/" in text
    assert f"Too Many Requests: /intake/{REDACTED}/" in text
    assert f"Bad Request: /intake/{REDACTED}/" in text
    assert f'django.server: "GET /intake/{REDACTED}/ HTTP/1.1" 200' in text


@pytest.mark.django_db(transaction=True)
def test_the_filter_redacts_botocores_debug_lines_if_the_cap_is_lifted(
    uncapped_debug_log, aws_sandbox
):
    # What the config pack issued after a rotation needs of a provisioned request.
    request = live_vpn(aws_sandbox, vpc_cidr="172.20.9.0/24", amazon_side_asn=64512)
    _rotate(request, 2)
    status_refresh()

    text = uncapped_debug_log.getvalue()
    _assert_nothing_secret(text, _psks())
    # botocore did log the keys, in the request's parameters and in AWS's answers.
    assert f"PreSharedKey': '{REDACTED}'" in text
    assert f"&lt;pre_shared_key&gt;{REDACTED}&lt;/pre_shared_key&gt;" in text
    assert f"<preSharedKey>{REDACTED}</preSharedKey>" in text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "{'TunnelOptions.1.PreSharedKey': 'Abc.def_123', 'Type': 'ipsec.1'}",
            f"{{'TunnelOptions.1.PreSharedKey': '{REDACTED}', 'Type': 'ipsec.1'}}",
        ),
        (
            "Action=ModifyVpnTunnelOptions&TunnelOptions.PreSharedKey=Abc.def_123&Version=1",
            f"Action=ModifyVpnTunnelOptions&TunnelOptions.PreSharedKey={REDACTED}&Version=1",
        ),
        ('{"PreSharedKey": "Abc.def_123"}', f'{{"PreSharedKey": "{REDACTED}"}}'),
        (
            "<preSharedKey>Abc.def_123</preSharedKey>",
            f"<preSharedKey>{REDACTED}</preSharedKey>",
        ),
        (
            "&lt;pre_shared_key&gt;Abc.def_123&lt;/pre_shared_key&gt;",
            f"&lt;pre_shared_key&gt;{REDACTED}&lt;/pre_shared_key&gt;",
        ),
        (
            '"GET /intake/0123456789abcdefghijABCDEFGHIJ_-0123456789a/pack/pdf/ HTTP/1.1" 200',
            f'"GET /intake/{REDACTED}/pack/pdf/ HTTP/1.1" 200',
        ),
        ("Not Found: /intake/near-miss/", f"Not Found: /intake/{REDACTED}/"),
        (
            "link 0123456789abcdefghijABCDEFGHIJ_-0123456789a sent",
            f"link {REDACTED} sent",
        ),
        # What must stay: ids, references, and longer runs such as ciphertexts.
        ("vpn-0123456789abcdef VPN-000042", "vpn-0123456789abcdef VPN-000042"),
        ("gAAAAA" + "x" * 60 + "==", "gAAAAA" + "x" * 60 + "=="),
    ],
)
def test_redact_known_shapes(line, expected):
    assert redact(line) == expected


def test_the_filter_redacts_arguments_and_tracebacks():
    token = secrets.token_urlsafe(32)
    try:
        raise ValueError(f"no link for /intake/{token}/")
    except ValueError:
        record = logging.LogRecord(
            "tests", logging.ERROR, __file__, 1, "Failed: %s", (f"/intake/{token}/",), None
        )
        record.exc_info = sys.exc_info()
    assert RedactSecrets().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert token not in formatted
    assert f"Failed: /intake/{REDACTED}/" in formatted
    assert f"ValueError: no link for /intake/{REDACTED}/" in formatted
