from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"

    def ready(self):
        from . import checks  # noqa: F401  (registers the startup checks)
