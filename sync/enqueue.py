"""Asking for work: every request the product makes of a worker goes through here, after the request's
transaction commits. Views, receivers and commands call these; the tasks call services and the engine.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction

from integration.models import ModuleConfig

from . import notifications, previews, services, tasks
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


def notification_run_request(*, channel) -> bool:
    """A run for what a callback announced, a moment from now: the callbacks of that moment ride along."""
    if not notifications.run_due(channel=channel, delay=datetime.timedelta(seconds=settings.CRM_NOTIFY_COALESCE_SECONDS)):
        return False
    connection_id = channel.connection_id
    transaction.on_commit(lambda: tasks.sync_notified.apply_async(
        (connection_id,), countdown=settings.CRM_NOTIFY_COALESCE_SECONDS))
    return True


def save_push_request(*, module_config: ModuleConfig) -> bool:
    """A push of what was saved here, a moment from now: the saves of that moment ride along."""
    delay = settings.CRM_SAVE_PUSH_DEBOUNCE_SECONDS
    if not services.saved_push_due(module_config=module_config, delay=datetime.timedelta(seconds=delay)):
        return False
    transaction.on_commit(lambda: tasks.push_saved.apply_async((module_config.pk,), countdown=delay))
    return True


def notifications_refresh_request(*, connection_id: int) -> None:
    """Bring the connection's notification channel in line with what it syncs (in the background: a CRM call)."""
    transaction.on_commit(lambda: tasks.notifications_refresh.delay(connection_id))


def preview_request(*, module_config: ModuleConfig):
    """A preview of the module's first sync: now when it is small, in the background when it is large."""
    return previews.start(module_config, background=lambda preview_id: tasks.preview_module.delay(preview_id))
