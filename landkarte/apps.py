from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    from landkarte.roles import sync_role_groups

    sync_role_groups()


class LandkarteConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "landkarte"
    verbose_name = "Landkarte"

    def ready(self):
        post_migrate.connect(_sync_roles, sender=self)
