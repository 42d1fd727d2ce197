"""Valid intake inputs and helpers shared by the intake tests.

The valid samples are built from the examples of `vpn.intake_fields`, so a field added
there is in every sample (and so in every test that posts one) at once.
"""

import re

from django.utils.html import escape

from tests.factories import CustomerFactory, VpnRequestFactory
from vpn.choices import Routing
from vpn.intake_fields import INTAKE_FIELDS, INTAKE_FIELDS_BY_NAME, TECHNICAL_FIELDS
from vpn.services.intake import intake_link_create

ORG_ID = INTAKE_FIELDS_BY_NAME["org_id"].example
PUBLIC_IP = INTAKE_FIELDS_BY_NAME["gateway_ip"].example

# The samples pick their region, so they give no location (which would only propose one)
# unless asked to.
_LOCATION = frozenset({"location_city", "location_country"})


def _applies(spec, routing: str, located: bool) -> bool:
    return spec.routing in ("", routing) and (located or spec.name not in _LOCATION)


def form_sample(*, routing: str, located: bool = False) -> dict[str, str]:
    """What the engineer's form posts for a complete request with this routing: every
    field, as text; the ones that do not apply left empty, an unticked box left out.
    `located` gives the location too (the region still wins)."""
    data = {}
    for spec in INTAKE_FIELDS:
        value = spec.example if _applies(spec, routing, located) else ""
        if spec.name == "routing":
            value = routing
        if isinstance(value, bool):
            if value:
                data[spec.name] = "on"
        elif isinstance(value, tuple):
            data[spec.name] = "\n".join(value)
        else:
            data[spec.name] = str(value)
    return data


def json_sample(*, routing: str, located: bool = False) -> dict[str, object]:
    """The same request as `vpn_create` JSON: only the keys that apply."""
    data: dict[str, object] = {}
    for spec in INTAKE_FIELDS:
        if not _applies(spec, routing, located):
            continue
        value = routing if spec.name == "routing" else spec.example
        value = list(value) if isinstance(value, tuple) else value
        if spec.key != spec.name:
            # Fields sharing a key are one object: {"location": {"city": ..., ...}}.
            data.setdefault(spec.key, {})[spec.name.removeprefix(f"{spec.key}_")] = value
        else:
            data[spec.key] = value
    return data


# What the engineer's form posts for a complete static request, and a BGP one.
FORM_STATIC = form_sample(routing=Routing.STATIC.value)
FORM_BGP = form_sample(routing=Routing.BGP.value)

# The static request as `vpn_create` JSON.
JSON_STATIC = json_sample(routing=Routing.STATIC.value)

TECHNICAL_KEYS = TECHNICAL_FIELDS


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
