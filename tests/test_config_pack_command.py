"""`manage.py vpn_config_pack ID -o FILE [--redacted] [--zip]`."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from tests.config_pack_support import (
    connection_request,
    pdf_text,
)
from tests.factories import VpnRequestFactory
from vpn.models import ConfigPack, PackDownload


def _run(*args) -> str:
    out = io.StringIO()
    call_command("vpn_config_pack", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_writes_the_latest_version_in_each_form(tmp_path):
    vpn_request = connection_request()
    psk = vpn_request.tunnels.get(position=1).psk
    pdf, redacted, archive = tmp_path / "pack.pdf", tmp_path / "redacted.pdf", tmp_path / "p.zip"

    out = _run(str(vpn_request.pk), "-o", str(pdf))
    assert f"Rendered {vpn_request.reference} config pack v1." in out
    assert f"Wrote {vpn_request.reference} config pack v1 (PDF," in out
    assert str(pdf) in out
    assert psk in pdf_text(pdf.read_bytes())

    out = _run(str(vpn_request.pk), "-o", str(redacted), "--redacted")
    assert "Rendered" not in out  # the stored version is written, not a new one
    assert psk not in pdf_text(redacted.read_bytes())

    _run(str(vpn_request.pk), "--output", str(archive), "--zip")
    with zipfile.ZipFile(archive) as files:
        assert any(name.endswith("/swanctl.conf") for name in files.namelist())

    pack = ConfigPack.objects.get()
    assert pdf.read_bytes() == pack.pdf.open("rb").read()
    assert PackDownload.objects.filter(token_label="manage.py vpn_config_pack").count() == 3


@pytest.mark.django_db
def test_unknown_request_is_an_error_and_writes_nothing(tmp_path):
    target = tmp_path / "pack.pdf"
    with pytest.raises(CommandError, match="No VPN request with id 999999"):
        _run("999999", "-o", str(target))
    assert not target.exists()


@pytest.mark.django_db
def test_request_without_vpn_connection_is_an_error(tmp_path):
    vpn_request = VpnRequestFactory()
    target = tmp_path / "pack.pdf"
    with pytest.raises(CommandError, match="no VPN connection yet"):
        _run(str(vpn_request.pk), "-o", str(target))
    assert not target.exists()
    assert not ConfigPack.objects.exists()


def test_output_is_required():
    with pytest.raises(CommandError, match="-o/--output"):
        _run("1")
