"""Customer text in the pack is text: markup and URLs in names are printed as typed,
and rendering fetches nothing but the project's static files."""

import json
import logging

import pytest

from tests.config_pack_support import connection_request, pdf_attachments, pdf_text
from tests.factories import CustomerFactory
from vpn.services.packs import config_pack_preview

HOSTILE = {
    "name": '<b>Acme</b> <img src="file:///etc/passwd">',
    "contact_name": '<link rel="stylesheet" href="http://169.254.169.254/">',
    "org_id": "http://169.254.169.254/latest/meta-data/",
    "contact_email": 'x@example.com"><link rel="attachment" href="file:///etc/passwd">',
}


@pytest.mark.django_db
def test_customer_markup_is_printed_not_followed(caplog):
    vpn_request = connection_request(customer=CustomerFactory(**HOSTILE))
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        rendered = config_pack_preview(request_id=vpn_request.pk)

    # Nothing refused, nothing WeasyPrint had to complain about (CSS, fetches, fonts).
    assert [record.getMessage() for record in caplog.records] == []
    assert rendered.refused == ()
    assert set(rendered.fetched) == {"file:///static/pdf/config-pack.css"}

    flat = " ".join(pdf_text(rendered.pdf).split())
    for value in HOSTILE.values():
        assert value in flat, value

    attachments = pdf_attachments(rendered.pdf)
    assert set(attachments) >= {"swanctl.conf", "parameters.json"}
    assert "passwd" not in " ".join(attachments)
    with open("/etc/passwd", "rb") as passwd:
        first_line = passwd.readline().strip()
    assert first_line not in rendered.pdf
    assert all(first_line not in content for content in attachments.values())
    # The names are data in the JSON, and nowhere in the device configurations.
    parameters = json.loads(attachments["parameters.json"])["parameters"]
    assert parameters["customer"]["name"] == HOSTILE["name"]
    for name, content in attachments.items():
        if name != "parameters.json":
            assert b"169.254.169.254" not in content and b"<img" not in content, name
