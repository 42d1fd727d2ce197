"""Django project package of the site-to-site VPN onboarding portal."""
