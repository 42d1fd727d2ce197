"""Access: every staff URL sends an anonymous visitor to a login page; only the pages
meant for the public are reachable without one; groups carry the right permissions."""

import re
import uuid

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver

from vpn.permissions import OPS, SOLUTIONS_ENGINEERS

# Modules whose views may be public: the customer's pages, health, and login pages.
PUBLIC_VIEW_MODULES = (
    "vpn.views.public",
    "vpn.views.accounts",
    "vpn.views.customer",
    "django.contrib.auth.views",
    "django.contrib.admin.sites",
    "django.contrib.admin.views.decorators",
    "django_rq.stats_views",  # token-protected API of the RQ dashboard
)
# Single public views in modules that are otherwise staff-only.
PUBLIC_VIEWS = ("vpn.views.status.metrics",)  # bearer token or login, checked by the view

_CONVERTER_SAMPLES = {"int": "1", "str": "x", "slug": "x", "path": "x/y", "uuid": str(uuid.uuid4())}


def _sample_path(route: str) -> str | None:
    """A concrete path for a route, or None for a regex we cannot fill in."""
    if route.startswith("^") or "(?P" in route:
        route = route.lstrip("^").rstrip("$").replace("/?", "/").replace("\\.", ".")
        if re.search(r"[()\[\]*+?]", route):
            return None
        return route
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: _CONVERTER_SAMPLES[m.group(1) or "str"], route)


def _all_urls(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _all_urls(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route, entry


def _is_public(view) -> bool:
    return getattr(view, "login_required", True) is False


def _staff_urls():
    urls = []
    for route, pattern in _all_urls():
        path = _sample_path(route)
        if path is not None and not _is_public(pattern.callback):
            urls.append("/" + path)
    return urls


def test_the_url_walk_finds_the_staff_pages():
    urls = _staff_urls()
    assert "/" in urls
    assert "/requests/1/" in urls
    assert any(url.startswith("/admin/vpn/vpnrequest/") for url in urls)
    assert any(url.startswith("/admin/django_rq/") for url in urls)


@pytest.mark.django_db
@pytest.mark.parametrize("url", _staff_urls())
def test_every_staff_url_sends_an_anonymous_visitor_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302, url
    assert re.match(r"^/(admin/)?login/", response["Location"]), response["Location"]


def test_only_public_modules_have_public_views():
    for route, pattern in _all_urls():
        if _is_public(pattern.callback):
            view = pattern.callback
            name = f"{view.__module__}.{view.__qualname__}"
            assert view.__module__.startswith(PUBLIC_VIEW_MODULES) or name in PUBLIC_VIEWS, route


@pytest.mark.django_db
def test_health_is_public(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_login_page_logs_in_and_logout_needs_post(client, se):
    response = client.post("/login/", {"username": se.username, "password": "pass"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_wrong_password_says_so_without_a_server_error(client, se):
    response = client.post("/login/", {"username": se.username, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


@pytest.mark.django_db
def test_groups_separate_engineers_from_ops(se, ops):
    assert Group.objects.filter(name__in=[SOLUTIONS_ENGINEERS, OPS]).count() == 2
    assert se.has_perm("vpn.view_vpnrequest")
    assert se.has_perm("vpn.approve_vpnrequest")
    assert not se.has_perm("vpn.operate_vpnrequest")
    assert not se.has_perm("vpn.reveal_psk")
    assert ops.has_perm("vpn.operate_vpnrequest")
    assert ops.has_perm("vpn.reveal_psk")


@pytest.mark.django_db
def test_a_user_without_the_view_permission_is_refused(client, django_user_model):
    outsider = django_user_model.objects.create_user("outsider", password="pass")
    client.force_login(outsider)
    assert client.get("/").status_code == 403
