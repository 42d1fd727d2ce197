"""The claims the tests' provider gives: username, email, names and groups, as a
company's identity provider would."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class StaffClaims(OAuth2Validator):
    """django-oauth-toolkit's validator, with a `groups` claim under the `groups` scope."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    def get_additional_claims(self, request):
        """The signed-in user's claims."""
        user = request.user
        return {
            "preferred_username": user.username,
            "email": user.email,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }
