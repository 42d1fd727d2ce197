"""Valid intake inputs and helpers shared by the intake tests."""

import re

from django.utils.html import escape

from tests.factories import CustomerFactory, VpnRequestFactory
from vpn.services.intake import intake_link_create

ORG_ID = "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01"
PUBLIC_IP = "52.94.12.7"

# What the engineer's form posts for a complete static request.
FORM_STATIC = {
    "customer_name": "Northwind Traders",
    "org_id": ORG_ID,
    "contact_name": "Jo Smith",
    "contact_email": "netops@northwind.example",
    "region": "eu-west-2",
    "location_city": "",
    "location_country": "",
    "gateway_ip": PUBLIC_IP,
    "routing": "static",
    "subnets": "10.20.0.0/16\n10.30.1.0/24",
    "asn": "",
    "advertised_prefixes": "",
    "ike_version": "ikev2",
    "tunnels": "2",
    "device": "strongswan",
}
FORM_BGP = {
    **FORM_STATIC,
    "routing": "bgp",
    "subnets": "",
    "asn": "65010",
    "advertised_prefixes": "10.20.0.0/16",
}

# The same request as `vpn_create` JSON.
JSON_STATIC = {
    "customer_name": "Northwind Traders",
    "org_id": ORG_ID,
    "contact_name": "Jo Smith",
    "contact_email": "netops@northwind.example",
    "region": "eu-west-2",
    "gateway_ip": PUBLIC_IP,
    "routing": "static",
    "subnets": ["10.20.0.0/16", "10.30.1.0/24"],
    "ike_version": "ikev2",
    "tunnels": 2,
    "nat": False,
    "device": "strongswan",
}

TECHNICAL_KEYS = (
    "region",
    "location_city",
    "location_country",
    "gateway_ip",
    "routing",
    "subnets",
    "asn",
    "advertised_prefixes",
    "ike_version",
    "tunnels",
    "nat",
    "device",
)


def customer_form(data: dict) -> dict:
    """Only the fields of the customer's form."""
    return {key: value for key, value in data.items() if key in TECHNICAL_KEYS}


def draft_with_link(**kwargs):
    """An empty draft request (as an invitation makes) and its link's token."""
    request = VpnRequestFactory(
        customer=kwargs.pop("customer", None) or CustomerFactory(),
        region="",
        customer_gateway_ip=None,
        bgp_asn=None,
        advertised_prefixes=[],
        **kwargs,
    )
    new = intake_link_create(request_id=request.pk, send_email=False)
    return request, new.token


def field_row(html: str, field: str) -> str:
    """The HTML of one field's row: its label, input, errors and help."""
    start = html.index(f'id="row_{field}"')
    end = re.compile(r'<div class="form-row|</fieldset>').search(html, start + 1)
    return html[start : end.start() if end else len(html)]


def rendered(fragment: str) -> str:
    """A message fragment as the template renders it (escaped)."""
    return str(escape(fragment))
