"""Template context shared by every page."""

from django.conf import settings

from vpn.selectors.intake import review_queue_count


def portal(request) -> dict:
    """Whether the portal talks to the local AWS sandbox (shown as a banner), and for
    staff the length of the review queue (shown in the navigation)."""
    context = {"aws_sandbox": bool(settings.AWS_ENDPOINT_URL)}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # A callable: the template runs the query only where it shows the number.
        context["review_count"] = review_queue_count
    return context
