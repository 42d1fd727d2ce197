"""`vpn_rotate_encryption_key`: every stored pre-shared key ends up under the newest of
`PSK_ENCRYPTION_KEYS`, the portal reads old and new meanwhile, a second run changes
nothing, and a run stopped by a key it cannot read resumes once that key is back.

Real PostgreSQL; each test looks at the tokens as stored and decrypts them with the keys
one at a time.
"""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import TunnelFactory
from vpn.models import Tunnel

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
LOST_KEY = Fernet.generate_key().decode()


def _stored_tokens() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, psk FROM vpn_tunnel WHERE psk IS NOT NULL ORDER BY id")
        return dict(cursor.fetchall())


def _readable_with(key: str, token: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _store_under(key: str, tunnel: Tunnel, psk: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE vpn_tunnel SET psk = %s WHERE id = %s",
            [Fernet(key).encrypt(psk.encode()).decode(), tunnel.pk],
        )


@pytest.fixture
def tunnels(postgres, settings):
    """Five tunnels whose keys are stored under OLD_KEY."""
    settings.PSK_ENCRYPTION_KEYS = [OLD_KEY]
    made = [TunnelFactory(psk=f"Psk_of.tunnel_{index}") for index in range(5)]
    TunnelFactory(psk=None)  # a tunnel without a key yet: nothing to rotate
    return made


def _run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("vpn_rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


def test_every_key_moves_under_the_newest_and_reads_back(tunnels, settings):
    settings.PSK_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    # Before the rotation the portal reads the old tokens with the new key first.
    assert [Tunnel.objects.get(pk=t.pk).psk for t in tunnels] == [t.psk for t in tunnels]

    output = _run("--batch-size", "2")

    assert "5 re-encrypted, 0 already were" in output
    tokens = _stored_tokens()
    assert len(tokens) == 5
    assert all(_readable_with(NEW_KEY, token) for token in tokens.values())
    assert not any(_readable_with(OLD_KEY, token) for token in tokens.values())
    # The old key can go: everything reads with the new one alone.
    settings.PSK_ENCRYPTION_KEYS = [NEW_KEY]
    assert [Tunnel.objects.get(pk=t.pk).psk for t in tunnels] == [t.psk for t in tunnels]


def test_a_second_run_changes_nothing(tunnels, settings):
    settings.PSK_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    _run()
    before = _stored_tokens()

    output = _run()

    assert "0 re-encrypted, 5 already were" in output
    assert _stored_tokens() == before


def test_a_run_stopped_by_an_unknown_key_resumes_once_the_key_is_back(tunnels, settings):
    _store_under(LOST_KEY, tunnels[2], "Psk_under.a_lost_key")
    settings.PSK_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    with pytest.raises(CommandError) as stopped:
        _run("--batch-size", "1")

    message = str(stopped.value)
    reference = tunnels[2].request.reference
    assert f"{reference} tunnel {tunnels[2].position} (tunnel id {tunnels[2].pk})" in message
    assert "cannot be decrypted with any key in PSK_ENCRYPTION_KEYS" in message
    assert "2 key(s) were re-encrypted before it and are saved" in message
    tokens = _stored_tokens()
    # The batches before the unknown key are committed; the ones after are untouched.
    assert [_readable_with(NEW_KEY, tokens[t.pk]) for t in tunnels] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert _readable_with(OLD_KEY, tokens[tunnels[3].pk])

    settings.PSK_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY, LOST_KEY]
    output = _run("--batch-size", "1")

    assert "3 re-encrypted, 2 already were" in output
    settings.PSK_ENCRYPTION_KEYS = [NEW_KEY]
    psks = [Tunnel.objects.get(pk=t.pk).psk for t in tunnels]
    assert psks == [t.psk for t in tunnels[:2]] + ["Psk_under.a_lost_key"] + [
        t.psk for t in tunnels[3:]
    ]


def test_a_batch_size_below_one_is_refused(tunnels):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        _run("--batch-size", "0")
    assert all(_readable_with(OLD_KEY, token) for token in _stored_tokens().values())
