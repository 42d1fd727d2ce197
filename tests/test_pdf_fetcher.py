"""The PDF renderer's URL fetcher: static files and data: URIs only, everything else
refused and recorded, even from HTML that was never escaped."""

import base64

import pytest
from django.conf import settings

from vpn import pdf

STYLESHEET = settings.BASE_DIR / "static" / "pdf" / "config-pack.css"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/font.woff2",
        "ftp://example.com/file",
        # Out of the static folder by `..`, directly and through the /static/ URL.
        (settings.BASE_DIR / "static").as_uri() + "/../portal/settings.py",
        "file:///static/../../../../etc/passwd",
        "file:///static/pdf/no-such-file.css",
        "file://evil.example.com" + str(STYLESHEET),
    ],
)
def test_anything_but_static_files_is_refused(url):
    fetcher = pdf.static_files_fetcher()
    with pytest.raises(pdf.FetchRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]
    assert fetcher.fetched == []


def test_static_files_by_path_or_by_static_url_and_data_uris():
    fetcher = pdf.static_files_fetcher()
    by_path = fetcher.fetch(STYLESHEET.as_uri())
    by_url = fetcher.fetch("file:///static/pdf/config-pack.css")
    assert by_path.read() == by_url.read() == STYLESHEET.read_bytes()
    assert by_path.content_type == "text/css"
    data = fetcher.fetch("data:text/plain;base64," + base64.b64encode(b"hello").decode())
    assert data.read() == b"hello"
    assert fetcher.refused == []


def test_a_symlink_out_of_static_is_refused(settings, tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "escape.css").symlink_to("/etc/passwd")
    settings.BASE_DIR = tmp_path
    fetcher = pdf.static_files_fetcher()
    with pytest.raises(pdf.FetchRefused):
        fetcher.fetch("file:///static/escape.css")
    assert fetcher.refused == ["file:///static/escape.css"]


def test_unescaped_html_still_fetches_nothing_outside_static():
    # What a template would produce if it ever forgot to escape customer text.
    html = """<!doctype html><html><head>
      <link rel="stylesheet" href="/static/pdf/config-pack.css">
      <link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/style.css">
      <link rel="attachment" href="file:///etc/passwd">
      </head><body>
      <p>Hello</p>
      <img src="file:///etc/passwd">
      <img src="http://169.254.169.254/latest/meta-data/">
      <div style="background: url('file:///etc/shadow')">x</div>
      </body></html>"""
    rendered = pdf.html_to_pdf(html=html)
    assert rendered.content.startswith(b"%PDF")
    assert rendered.fetched == ["file:///static/pdf/config-pack.css"]
    assert set(rendered.refused) == {
        "http://169.254.169.254/latest/meta-data/style.css",
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/shadow",
    }
    assert b"root:x:0:0" not in rendered.content
