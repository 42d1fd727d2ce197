"""The portal's icon: linked from every page, and answered at /favicon.ico too."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_favicon_ico_answers_with_the_icon_without_a_login():
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and b"</svg>" in response.content
    assert "max-age=86400" in response["Cache-Control"]


def test_every_page_links_the_icon(se_client):
    for path in ("/login/", "/"):
        client = Client() if path == "/login/" else se_client
        html = client.get(path).content.decode()
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
