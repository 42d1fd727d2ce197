"""App configuration of the VPN app."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VpnConfig(AppConfig):
    """Registers the VPN app; keeps the staff groups in step after each migration."""

    name = "vpn"
    verbose_name = "Site-to-site VPN"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Sync the groups once permissions exist (they are made after migrations)."""
        from vpn.permissions import groups_sync

        post_migrate.connect(groups_sync, sender=self)
