"""Input that no page can use is refused with a 400, before any view or query sees it.

PostgreSQL refuses a NUL character in any text it is sent, so a `%00` in a query
parameter (a search box, a dashboard filter, an admin list filter) or in a form field
used to end in a 500. Bytes that are not UTF-8 (`%ff`) would reach the views as
replacement characters. Rather than guard every parameter of every page, and the
admin's, this middleware looks once at everything a client sends as text: the query
string, a form-encoded body and the cookies.
"""

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

MESSAGE = (
    "Bad request: the address or the form holds a character the portal cannot read "
    "(a NUL character, or bytes that are not UTF-8). Remove it and try again.\n"
)
_FORM_TYPE = "application/x-www-form-urlencoded"


def unreadable(raw: bytes) -> bool:
    """Whether URL-encoded `raw` decodes to a NUL character or to bytes that are not UTF-8."""
    decoded = unquote_to_bytes(raw)
    if b"\x00" in decoded:
        return True
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


class UnreadableInputMiddleware:
    """Answer 400 to a request whose query string, form body or cookies hold unreadable text."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Refuse the request, or pass it on untouched."""
        if self._unreadable(request):
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _unreadable(request: HttpRequest) -> bool:
        # WSGI hands the query string over as Latin-1 text: its bytes are the client's.
        if unreadable(request.META.get("QUERY_STRING", "").encode("latin-1", "replace")):
            return True
        # Only form-encoded bodies are text throughout; the body is read once and kept.
        if request.content_type == _FORM_TYPE and unreadable(request.body):
            return True
        # A quoted cookie may spell a NUL as an octal escape ("\000"), and the session
        # cookie is looked up in the database.
        return any("\x00" in value for value in request.COOKIES.values())
