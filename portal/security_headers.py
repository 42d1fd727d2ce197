"""The Permissions-Policy header, which Django's SecurityMiddleware does not set.

Content-Security-Policy comes from django-csp and Referrer-Policy from Django itself; this
adds the browser features the portal refuses (`PERMISSIONS_POLICY` in the settings) to
every response that has not set the header itself.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class PermissionsPolicyMiddleware:
    """Send `settings.PERMISSIONS_POLICY` as the Permissions-Policy header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Add the header to the response, unless a view chose its own."""
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
