"""Starting runs: queue one, claim the running slot, and refuse politely when one is in progress."""

from django.db import transaction

from integration.models import ModuleConfig

from .models import RunStatus, SyncRun


def run_request(*, module_config: ModuleConfig, trigger: str) -> SyncRun:
    """Record a queued run for the module (the worker picks it up)."""
    with transaction.atomic():
        run = SyncRun.objects.create(module_config=module_config, trigger=trigger, status=RunStatus.QUEUED)
    return run
