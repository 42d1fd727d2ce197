"""The provider's URLs: OAuth 2 and OpenID Connect under /o/, its login page, and a
control endpoint for the tests to change a user's groups between two logins."""

import json

from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group, User
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def user_groups_set(request, username: str) -> HttpResponse:
    """Give `username` exactly the groups named in the JSON list posted."""
    names = json.loads(request.body)
    user = User.objects.get(username=username)
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
    return JsonResponse({"username": username, "groups": sorted(names)})


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("_test/users/<str:username>/groups", user_groups_set),
]
