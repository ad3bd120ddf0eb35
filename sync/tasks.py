"""Celery tasks: ids in, one service or engine call, late acknowledgement, time limits, bounded retries
for transient failures only. A sync converges, so running a task twice (a redelivery after a crash) is
safe. The rest of the product asks for these through `enqueue`.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from integration.models import ConnectionStatus, CrmConnection, ModuleConfig, SyncModule

from . import alerts, metrics, notifications, previews, services
from .engine import run as engine
from .engine import slot
from .models import RunStatus, SyncRun, Trigger

log = logging.getLogger("sync")

# A large initial sync can take a while; a run killed by the limit is reclaimed and the next one
# continues from the cursor.
RUN_TIME_LIMIT = 4 * 3600
# A run of changes whose module is busy (another run at work) is tried again this often, this many times
# (two minutes); a push the CRM refused, with a growing delay, a few times.
BUSY_RETRY_SECONDS = 0.5
BUSY_RETRIES = 240
FAILED_RETRIES = 4


@shared_task(bind=True, acks_late=True, time_limit=RUN_TIME_LIMIT + 60, soft_time_limit=RUN_TIME_LIMIT,
             autoretry_for=(OperationalError,), retry_backoff=5, retry_jitter=True, max_retries=5)
def sync_module(self, run_id: int) -> str:
    """Run a queued SyncRun (see engine.run.run_module)."""
    try:
        run = engine.run_module(run_id=run_id, slice_seconds=settings.CRM_RUN_SLICE_SECONDS or None)
    except slot.RunBusy:
        # A second delivery of a run a live worker is still doing: look again once its heartbeat would
        # have gone stale, then either it has finished (nothing to do) or it is ours to take over.
        raise self.retry(countdown=slot.STALE_AFTER.total_seconds() + 30, max_retries=20) from None
    if run is not None and run.status == RunStatus.QUEUED and hasattr(run, "retry_in"):
        # The run gave its place back: to the end of the queue, behind the other organizations' runs.
        sync_module.apply_async((run.pk,), countdown=run.retry_in or None)
        return "queued again"
    if run is not None and run.module == SyncModule.CUSTOMERS and run.status in (
        RunStatus.SUCCEEDED, RunStatus.PARTIAL
    ):
        # After each customers sync, the linked customers' accounting metrics follow (debounced).
        schedule_metrics_push(connection_id=run.module_config.connection_id)
    return run.status if run is not None else "gone"


@shared_task(acks_late=True, time_limit=120)
def tick() -> int:
    """Beat, every minute: reclaim runs whose worker died, and queue a scheduled run of every module
    that is due (configured, not paused, connection active, next_run_at passed). Returns runs queued."""
    slot.reclaim_stale_runs()
    for config in ModuleConfig.objects.filter(runs__status=RunStatus.RUNNING).distinct():
        slot.reclaim_dead_runs(module_config=config)
    # A queued run whose message was lost (a broker restart) would block its module: send it again. A
    # duplicate is harmless, the claim is a conditional update.
    stale = timezone.now() - slot.STALE_AFTER
    lost = SyncRun.objects.in_progress().filter(status=RunStatus.QUEUED).filter(
        Q(heartbeat_at__isnull=True, queued_at__lt=stale) | Q(heartbeat_at__lt=stale))
    for run_id in lost.values_list("pk", flat=True)[:100]:
        sync_module.delay(run_id)
    for connection_id in notifications.channels_to_refresh():
        notifications_refresh.delay(connection_id)
    notifications.stale_changes_forget()
    alerts.check_all()
    services.timeline_prune()
    due = CrmConnection.objects.filter(status=ConnectionStatus.ACTIVE, two_way_allowed=True,
                                       metrics_due_at__lte=timezone.now())
    # A paused customers module pauses its metrics: they stay due until it is resumed.
    due = due.exclude(module_configs__module=SyncModule.CUSTOMERS, module_configs__paused=True)
    for connection_id in due.values_list("pk", flat=True):
        push_customer_metrics.delay(connection_id)
    queued = 0
    for config in ModuleConfig.objects.due():
        with transaction.atomic():
            run, started, message = services.run_queue(module_config=config, trigger=Trigger.SCHEDULED)
            if started:
                sync_module.delay_on_commit(run.pk)
        queued += started
        if not started:
            log.info("scheduled sync of %s not started: %s", config, message)
    return queued


def schedule_metrics_push(*, connection_id: int) -> bool:
    """Queue one metrics push a little later unless one is already due (many edits, one push)."""
    if not metrics.metrics_due(connection_id=connection_id):
        return False
    transaction.on_commit(lambda: push_customer_metrics.apply_async(
        (connection_id,), countdown=settings.CRM_METRICS_DEBOUNCE_SECONDS))
    return True


@shared_task(acks_late=True, time_limit=1800, autoretry_for=(OperationalError,), retry_backoff=5, max_retries=5)
def push_customer_metrics(connection_id: int) -> str:
    """Total sales, receivables and last invoice date of linked customers into their CRM records (see
    metrics.push_due)."""
    return metrics.push_due(connection_id=connection_id)


@shared_task(acks_late=True, time_limit=1800)
def delete_integration(connection_id: int, mode: str, user_id: int | None = None) -> dict:
    """Delete the integration (see services.integration_delete) and tell the admin who asked."""
    connection = CrmConnection.objects.select_related("organization").filter(pk=connection_id).first()
    if connection is None:
        return {}
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return services.integration_delete(connection=connection, mode=mode, notify=user)


# --- changes on either side, in seconds ------------------------------------------------------------------


@shared_task(bind=True, acks_late=True, time_limit=600, autoretry_for=(OperationalError,), retry_backoff=5,
             max_retries=5)
def sync_notified(self, connection_id: int) -> str:
    """Apply what CRM notifications announced (see notifications.changes_apply). A module busy with a full
    run keeps its changes: tried again shortly, a few times, and after that the poll has them anyway."""
    outcome = notifications.changes_apply(connection_id=connection_id)
    if outcome == "busy" and self.request.retries < BUSY_RETRIES:
        raise self.retry(countdown=BUSY_RETRY_SECONDS, max_retries=BUSY_RETRIES)
    return outcome


@shared_task(bind=True, acks_late=True, time_limit=600, autoretry_for=(OperationalError,), retry_backoff=5,
             max_retries=5)
def push_saved(self, module_config_id: int) -> str:
    """Push the records saved here (see services.saved_push). Busy, or the CRM failing, it is tried again
    with a growing delay; after that the next scheduled run sends them (nothing is marked synced)."""
    run = services.saved_push(module_config_id=module_config_id)
    if run is None:
        return "gone"
    busy = run.status == RunStatus.SKIPPED and run.failure_reason == slot.IN_PROGRESS_REASON
    failed = run.status == RunStatus.FAILED
    if (busy and self.request.retries < BUSY_RETRIES) or (failed and self.request.retries < FAILED_RETRIES):
        # Saves meanwhile ride along with this retry rather than queue a push of their own.
        ModuleConfig.objects.filter(pk=module_config_id).update(save_push_due_at=timezone.now())
        countdown = BUSY_RETRY_SECONDS if busy else 5 * 2 ** self.request.retries
        raise self.retry(countdown=countdown, max_retries=BUSY_RETRIES)
    if failed:
        services.saved_push_given_up(run=run)
    return run.status


@shared_task(acks_late=True, time_limit=120, autoretry_for=(OperationalError,), retry_backoff=5, max_retries=5)
def notifications_refresh(connection_id: int) -> str:
    """Subscribe, update, renew or remove the connection's notification channel (see notifications)."""
    connection = CrmConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return "gone"
    channel = notifications.channel_refresh(connection=connection)
    return "off" if channel is None else ("trouble" if channel.problem else "live")


@shared_task(acks_late=True, time_limit=RUN_TIME_LIMIT, autoretry_for=(OperationalError,), retry_backoff=5,
             max_retries=5)
def preview_module(preview_id: int) -> str:
    """Work out a large module's preview (see previews.run)."""
    return previews.run(preview_id).status
