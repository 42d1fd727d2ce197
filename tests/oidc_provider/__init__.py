"""A real OpenID provider for the tests: a small Django project on django-oauth-toolkit,
run in a process of its own (`python -m tests.oidc_provider.serve`)."""
