from django.apps import AppConfig


class ArchitectureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "architecture"
