"""Celery tasks: ids in, one engine call, late acknowledgement, time limits, bounded retries for
transient failures only. A sync converges, so running a task twice (a redelivery after a crash) is safe.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import OperationalError, transaction
from django.utils import timezone

from integration.crm.errors import CrmError
from integration.models import ConnectionStatus, CrmConnection, ModuleConfig
from integration.services import client_for
from organizations.services import notification_create

from . import metrics, runner, services
from .models import IssueKind, RunStatus, SyncIssue, SyncRun, Trigger

log = logging.getLogger("sync")

# A large initial sync can take a while; a run killed by the limit is reclaimed and the next one
# continues from the cursor.
RUN_TIME_LIMIT = 4 * 3600


@shared_task(bind=True, acks_late=True, time_limit=RUN_TIME_LIMIT + 60, soft_time_limit=RUN_TIME_LIMIT,
             autoretry_for=(OperationalError,), retry_backoff=5, retry_jitter=True, max_retries=5)
def sync_module(self, run_id: int) -> str:
    """Run a queued SyncRun (see runner.run_module)."""
    try:
        run = runner.run_module(run_id=run_id)
    except runner.RunBusy:
        # A second delivery of a run a live worker is still doing: look again once its heartbeat would
        # have gone stale, then either it has finished (nothing to do) or it is ours to take over.
        raise self.retry(countdown=runner.STALE_AFTER.total_seconds() + 30, max_retries=20) from None
    if run is not None and run.module_config.module == "customers" and run.status in (
        RunStatus.SUCCEEDED, RunStatus.PARTIAL
    ):
        # After each customers sync, the linked customers' accounting metrics follow (debounced).
        from .receivers import schedule_metrics_push

        schedule_metrics_push(connection_id=run.module_config.connection_id)
    return run.status if run is not None else "gone"


@shared_task(bind=True, acks_late=True, time_limit=300, autoretry_for=(OperationalError,), retry_backoff=5,
             retry_jitter=True, max_retries=5)
def resync_record(self, link_id: int) -> str:
    """Fetch one linked CRM record again and apply it (a run with trigger "resync")."""
    run = runner.resync_link(link_id=link_id)
    return run.status if run is not None else "gone"


@shared_task(acks_late=True, time_limit=120)
def tick() -> int:
    """Beat, every minute: reclaim runs whose worker died, and queue a scheduled run of every module
    that is due (configured, not paused, connection active, next_run_at passed). Returns runs queued."""
    runner.reclaim_stale_runs()
    # A queued run whose message was lost (a broker restart) would block its module: send it again. A
    # duplicate is harmless, the claim is a conditional update.
    lost = SyncRun.objects.in_progress().filter(status=RunStatus.QUEUED,
                                                queued_at__lt=timezone.now() - runner.STALE_AFTER)
    for run_id in lost.values_list("pk", flat=True)[:100]:
        sync_module.delay(run_id)
    for connection_id in CrmConnection.objects.filter(
        status=ConnectionStatus.ACTIVE, metrics_due_at__lte=timezone.now()
    ).values_list("pk", flat=True):
        push_customer_metrics.delay(connection_id)
    queued = 0
    for config in runner.due_configs():
        _, started, message = services.sync_now(module_config=config, trigger="scheduled")
        queued += started
        if not started:
            log.info("scheduled sync of %s not started: %s", config, message)
    return queued



@shared_task(acks_late=True, time_limit=1800, autoretry_for=(OperationalError,), retry_backoff=5, max_retries=5)
def push_customer_metrics(connection_id: int) -> str:
    """Total sales, receivables and last invoice date of linked customers into their CRM records, recorded
    as a run (trigger "metrics") of the customers module."""
    with transaction.atomic():
        connection = CrmConnection.objects.select_for_update().filter(pk=connection_id).first()
        if connection is None or connection.metrics_due_at is None:
            return "not due"
        since = connection.metrics_pushed_at
        CrmConnection.objects.filter(pk=connection_id).update(metrics_due_at=None)
    config = ModuleConfig.objects.filter(connection=connection, module="customers").first()
    if config is None or connection.status != ConnectionStatus.ACTIVE:
        return "not configured"
    started = timezone.now()
    # Not "running": a metrics push must not take (or wait for) the module's sync slot.
    run = SyncRun.objects.create(module_config=config, trigger=Trigger.METRICS, status=RunStatus.QUEUED,
                                 started_at=started, heartbeat_at=started)
    client = client_for(connection)
    try:
        result = metrics.push_metrics(connection=connection, client=client, since=since)
    except Exception as error:
        # The run is recorded as failed whatever stopped it: left "queued", nothing would ever end it.
        SyncRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, failure_reason=str(error)[:5000],
                                                 finished_at=timezone.now(), api_calls=client.calls)
        if isinstance(error, CrmError):
            return RunStatus.FAILED
        # Not the CRM's doing (the database, say): the push is due again, for the next tick or retry.
        CrmConnection.objects.filter(pk=connection_id).update(metrics_due_at=timezone.now())
        raise
    SyncIssue.objects.bulk_create(
        SyncIssue(run=run, kind=IssueKind.ERROR, crm_module=module, crm_id=crm_id, message=message)
        for module, crm_id, message in result["failures"]
    )
    CrmConnection.objects.filter(pk=connection_id).update(metrics_pushed_at=started)
    status = RunStatus.PARTIAL if result["failed"] else RunStatus.SUCCEEDED
    SyncRun.objects.filter(pk=run.pk).update(
        status=status, pushed=result["pushed"], failed=result["failed"], finished_at=timezone.now(),
        api_calls=client.calls, retries=client.retries, progress_done=result["pushed"] + result["failed"])
    return status


@shared_task(acks_late=True, time_limit=1800)
def delete_integration(connection_id: int, mode: str, user_id: int | None = None) -> dict:
    """Delete the integration (see services.integration_delete) and tell the admin who asked."""
    connection = CrmConnection.objects.select_related("organization").filter(pk=connection_id).first()
    if connection is None:
        return {}
    organization = connection.organization
    counts = services.integration_delete(connection=connection, mode=mode)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user is not None:
        notification_create(
            organization=organization, user=user,
            message=f"The Zoho CRM integration was deleted: {counts['kept']} record(s) from the CRM were kept, "
                    f"{counts['deleted']} deleted.",
        )
    return counts
