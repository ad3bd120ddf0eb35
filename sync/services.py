"""Runs asked for (queued, not yet sent to a worker), pausing and resuming, and deleting the integration.

The running slot itself is claimed by the engine (`engine.slot`); here we only make sure that asking
twice does not queue twice, and that paused modules and disabled connections are refused with a reason.
Sending the work to a worker is `enqueue`'s.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from integration.models import ErpModel, ModuleConfig
from integration.services import client_for, connection_delete, connection_revoke
from items.models import Item
from organizations.services import notification_create
from vendors.models import Vendor

from . import credits, notifications
from .engine import run as engine
from .engine import slot
from .engine.adapters import MODELS
from .models import IssueKind, Origin, RecordLink, RunStatus, SyncIssue, SyncRun, TimelineEntry


def run_queue(*, module_config: ModuleConfig, trigger: str) -> tuple[SyncRun | None, bool, str]:
    """A queued run of the module, unless the module may not sync or a run is queued or running already.
    Returns (the new run, or the one in progress, or None; whether it is new; what to tell the user).
    Call inside a transaction; enqueue the new run's task when it commits (`enqueue.sync_now` does both).

    Requests at the same moment are serialised on the module config's row, so five clicks on Instant
    Sync make one run; the others are told a run is in progress.
    """
    module_config = ModuleConfig.objects.select_for_update().select_related("connection").get(pk=module_config.pk)
    slot.reclaim_dead_runs(module_config=module_config)  # a killed run holds up nothing
    reason = credits.run_refusal(module_config)
    if reason:
        return None, False, reason
    current = module_config.runs.in_progress().first()
    if current is not None:
        return current, False, "A sync of this module is already in progress."
    run = SyncRun.objects.create(module_config=module_config, trigger=trigger, status=RunStatus.QUEUED)
    return run, True, "Sync started."


def record_resync(*, link: RecordLink, client=None) -> tuple[str, str, bool]:
    """Fetch one linked record from the CRM again now and apply it (a run with trigger "resync"), for the
    person waiting on its page. Returns (message level, what happened in words, whether the ERP record is
    still here). A paused module still re-syncs one record: pausing stops its scheduled and instant syncs,
    not a person's request for one record."""
    noun = ErpModel(link.erp_model).label.lower()
    if link.crm_deleted_at is not None:
        return ("warning", f"This {noun}'s Zoho CRM record was deleted on {link.crm_deleted_at:%Y-%m-%d}; the {noun} "
                           "is kept here and no longer syncs.", True)
    run = engine.resync_link(link_id=link.pk, client=client or client_for(link.connection, retry_budget=15,
                                                                           max_attempts=4))
    if run is None:
        return "error", "This module is not configured for sync.", True
    if run.status in (RunStatus.SKIPPED, RunStatus.FAILED):
        return ("warning" if run.status == RunStatus.SKIPPED else "error",
                f"Not re-synced: {run.failure_reason}", True)
    after = RecordLink.objects.filter(pk=link.pk).first()
    still_here = MODELS[link.erp_model].objects.filter(pk=link.erp_id).exists()
    if after is None and not still_here:
        return "warning", f"The record no longer exists in Zoho CRM, so this {noun} was deleted here too.", False
    if after is None or after.crm_deleted_at is not None:
        issue = run.issues.filter(kind=IssueKind.SKIPPED).first()
        why = issue.message.split("; ", 1)[-1] if issue else f"this {noun} was kept here."
        return "warning", f"The record no longer exists in Zoho CRM: {why} It no longer syncs.", True
    if run.status == RunStatus.PARTIAL:
        issue = run.issues.filter(kind=IssueKind.ERROR).first()
        return "error", f"Not re-synced: {issue.message if issue else 'the record could not be applied.'}", True
    return "success", "Re-synced from Zoho CRM.", True


def saved_push(*, module_config_id: int) -> SyncRun | None:
    """Records saved here pushed now (trigger "save"): the push the saves asked for a moment ago. None when
    the module no longer pushes."""
    ModuleConfig.objects.filter(pk=module_config_id).update(save_push_due_at=None)
    config = ModuleConfig.objects.select_related("connection").filter(pk=module_config_id).first()
    if config is None or not config.syncs_both_ways:
        return None
    return engine.push_saved(module_config=config)


def saved_push_given_up(*, run: SyncRun) -> None:
    """The push of saved records failed every time: said in its run, and left to the next scheduled run."""
    SyncIssue.objects.create(run=run, kind=IssueKind.ERROR, message=(
        f"The records saved here could not be pushed ({run.failure_reason[:300]}); the next scheduled sync "
        "sends them."))


def saved_push_due(*, module_config: ModuleConfig, delay) -> bool:
    """Mark the module due a push of saved records shortly. True when this call opened the window (and so
    must queue it): saves that come close together make one push."""
    return bool(ModuleConfig.objects.filter(pk=module_config.pk, save_push_due_at__isnull=True).update(
        save_push_due_at=timezone.now() + delay))


def module_pause(*, module_config: ModuleConfig) -> ModuleConfig:
    module_config.paused = True
    module_config.save(update_fields=["paused"])
    return module_config


def module_resume(*, module_config: ModuleConfig) -> ModuleConfig:
    module_config.paused = False
    if module_config.next_run_at is None or module_config.next_run_at < timezone.now():
        module_config.next_run_at = timezone.now()
    module_config.save(update_fields=["paused", "next_run_at"])
    return module_config


DELETE_MODES = ("all", "with_transactions")


def _crm_records(connection, mode: str) -> dict:
    """Per ERP model, the records that came from the CRM (querysets): those kept and those deleted by
    Delete Integration in `mode`. Records created here are never deleted."""
    organization = connection.organization
    links = RecordLink.objects.filter(connection=connection, origin=Origin.CRM)
    from_crm = {
        "customers": Customer.objects.filter(organization=organization,
                                             pk__in=links.filter(erp_model=ErpModel.CUSTOMER).values("erp_id")),
        "vendors": Vendor.objects.filter(organization=organization,
                                         pk__in=links.filter(erp_model=ErpModel.VENDOR).values("erp_id")),
        "items": Item.objects.filter(organization=organization,
                                     pk__in=links.filter(erp_model=ErpModel.ITEM).values("erp_id")),
    }
    if mode != "with_transactions":
        return {name: (rows, rows.none()) for name, rows in from_crm.items()}
    # Items have no transactions in this ERP: those that came from the CRM go.
    return {
        "customers": (from_crm["customers"].filter(invoices__isnull=False).distinct(),
                      from_crm["customers"].filter(invoices__isnull=True)),
        "vendors": (from_crm["vendors"].filter(bills__isnull=False).distinct(),
                    from_crm["vendors"].filter(bills__isnull=True)),
        "items": (from_crm["items"].none(), from_crm["items"]),
    }


def integration_delete_preview(*, connection) -> dict:
    """What each choice of Delete Integration keeps and deletes: {mode: {"customers": (kept, deleted), ...}}."""
    return {mode: {name: (kept.count(), deleted.count()) for name, (kept, deleted) in _crm_records(connection, mode).items()}
            for mode in DELETE_MODES}


def _records(count: int) -> str:
    return f"{count} record{'s' if count != 1 else ''}"


def integration_delete(*, connection, mode: str, notify=None) -> dict:
    """Delete the integration: the links between records, the module configurations and the connection.
    The sync history stays (it belongs to the organization), for the audit trail.

    Records that came from the CRM stay as plain records of this organization ("all"), or only those
    with transactions stay and the rest are deleted ("with_transactions"). Records created here are
    never deleted. Items have no transactions in this ERP, so "with_transactions" deletes the items
    that came from the CRM. `notify`, a user, is told when it is done.

    The refresh token is revoked at Zoho first; when Zoho cannot be reached or refuses, the integration
    is deleted all the same, and what it returns (`revoked`) and the notification say so.
    """
    organization = connection.organization
    notifications.channel_remove(connection=connection)  # before the credentials go with the connection
    revoked = connection_revoke(connection=connection)
    with transaction.atomic():
        counts = {"kept": 0, "deleted": 0}
        for kept, deleted in _crm_records(connection, mode).values():
            counts["kept"] += kept.count()
            counts["deleted"] += deleted.count()
            deleted.delete()
        RecordLink.objects.filter(connection=connection).delete()
        Customer.objects.filter(organization=organization, crm_linked=True).update(crm_linked=False)
        Vendor.objects.filter(organization=organization, crm_linked=True).update(crm_linked=False)
        connection_delete(connection=connection)
    if notify is not None:
        deleted = f"{_records(counts['deleted'])} {'was' if counts['deleted'] == 1 else 'were'} deleted"
        unrevoked = ("" if revoked else " Zoho could not be asked to revoke this ERP's authorization: remove it "
                     "under Connected Apps in the Zoho account that connected it.")
        notification_create(
            organization=organization, user=notify,
            message=f"The Zoho CRM integration was deleted. Of the records that came from the CRM, "
                    f"{_records(counts['kept'])} {'was' if counts['kept'] == 1 else 'were'} kept and "
                    f"{deleted}.{unrevoked}",
        )
    return {**counts, "revoked": revoked}


def timeline_prune(*, now=None, batch: int = 10_000) -> int:
    """Timeline entries older than CRM_TIMELINE_DAYS go (at most `batch` a call: beat calls every minute)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.CRM_TIMELINE_DAYS)
    ids = list(TimelineEntry.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:batch])
    return TimelineEntry.objects.filter(pk__in=ids).delete()[0] if ids else 0
