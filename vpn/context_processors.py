"""Template context shared by every page."""

from django.conf import settings


def portal(request) -> dict:
    """Whether the portal talks to the local AWS sandbox (shown as a banner)."""
    return {"aws_sandbox": bool(settings.AWS_ENDPOINT_URL)}
