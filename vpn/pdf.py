"""HTML to PDF with WeasyPrint: the only module that imports it.

WeasyPrint is imported on first use (it takes over a second to import) rather than when
Django starts. Every resource a document refers to goes through `static_files_fetcher`,
which serves the project's own static files and `data:` URIs and refuses everything
else (other files, `http(s)`, `ftp`...), recording what it refused: a document can never
make the server read a local file or call a URL, whatever its text says.
"""

import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.template.loader import render_to_string


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in the PDF (shown in a viewer's attachments pane)."""

    name: str
    content: bytes
    description: str = ""


@dataclass
class RenderedPdf:
    """A rendered document and what its fetcher served and refused."""

    content: bytes
    fetched: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class FetchRefused(ValueError):
    """A URL outside what documents may use; WeasyPrint logs it and leaves it out."""


def static_root() -> Path:
    """The project's static folder, the only place documents may read files from."""
    return (Path(settings.BASE_DIR) / "static").resolve()


def static_base_url() -> str:
    """The base URL documents are rendered with, so relative links resolve into static."""
    return static_root().as_uri() + "/"


def static_path_for(url: str) -> Path | None:
    """The file in the static folder that `url` names, or None if it names anything else.

    Accepts `file://` URLs of files inside the static folder and `file:///static/...`
    (what `{% static %}` gives, resolved against the document's base URL). Symlinks and
    `..` are resolved first, so neither can lead out of the folder.
    """
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    root = static_root()
    raw_path = unquote(parts.path)
    path = Path(raw_path)
    static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    if not path.is_relative_to(root) and raw_path.startswith(static_prefix):
        path = root / raw_path.removeprefix(static_prefix)
    try:
        path = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


@cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _StaticFilesFetcher(URLFetcher):
        """Serves static files and `data:` URIs; refuses and records anything else."""

        def __init__(self):
            # No redirects and only two schemes, even though `fetch` checks itself.
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self.fetched: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                self.fetched.append("data:")
                return super().fetch(url, headers)
            path = static_path_for(url)
            if path is None:
                self.refused.append(url)
                raise FetchRefused(f"Refused to fetch {url}: only static files are allowed.")
            self.fetched.append(url)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                path.as_uri(), path.read_bytes(), headers={"Content-Type": content_type}
            )

    return _StaticFilesFetcher


def static_files_fetcher():
    """A new fetcher: a `weasyprint.urls.URLFetcher` limited to static files.

    The class is made on first use, as it derives from a WeasyPrint class.
    """
    return _fetcher_class()()


def html_to_pdf(
    *,
    html: str,
    attachments: tuple[PdfAttachment, ...] = (),
    created: datetime | None = None,
) -> RenderedPdf:
    """Render an HTML document to PDF, with `attachments` embedded as files.

    Relative URLs resolve into the static folder. `created` dates the attachments (so
    that the same files give the same bytes whenever they are rendered).
    """
    from weasyprint import HTML, Attachment

    fetcher = static_files_fetcher()
    document = HTML(string=html, base_url=static_base_url(), url_fetcher=fetcher)
    pdf_attachments = [
        Attachment(
            string=attachment.content,
            name=attachment.name,
            description=attachment.description or None,
            url_fetcher=fetcher,
            created=created,
            modified=created,
        )
        for attachment in attachments
    ]
    content = document.write_pdf(attachments=pdf_attachments)
    return RenderedPdf(content=content, fetched=fetcher.fetched, refused=fetcher.refused)


def template_to_pdf(
    *,
    template_name: str,
    context: dict,
    attachments: tuple[PdfAttachment, ...] = (),
    created: datetime | None = None,
) -> RenderedPdf:
    """Render a Django template (autoescaped as usual) to PDF; see `html_to_pdf`."""
    html = render_to_string(template_name, context)
    return html_to_pdf(html=html, attachments=attachments, created=created)
