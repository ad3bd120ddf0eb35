"""Asking for work: every request the product makes of a worker goes through here, after the request's
transaction commits. Views, receivers and commands call these; the tasks call services and the engine.
"""

from __future__ import annotations

from django.db import transaction

from integration.models import ModuleConfig

from . import services, tasks
from .models import SyncRun


def sync_now(*, module_config: ModuleConfig, trigger: str) -> tuple[SyncRun | None, bool, str]:
    """Queue a run of the module unless one is queued or running (see services.run_queue), and send it to
    a worker. Returns (run, started, message)."""
    with transaction.atomic():
        run, started, message = services.run_queue(module_config=module_config, trigger=trigger)
        if started:
            tasks.sync_module.delay_on_commit(run.pk)
    return run, started, message


def integration_delete_request(*, connection, mode: str, user) -> None:
    tasks.delete_integration.delay_on_commit(connection.pk, mode, user.pk if user else None)


def metrics_push_request(*, connection_id: int) -> bool:
    """A push of the connection's accounting metrics a little later, unless one is due already (many
    invoice edits, one push)."""
    return tasks.schedule_metrics_push(connection_id=connection_id)
