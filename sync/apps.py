from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"

    def ready(self):
        from . import receivers  # noqa: F401  (connects to the integration's signals)
