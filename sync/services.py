"""Runs asked for (queued, not yet sent to a worker), pausing and resuming, and deleting the integration.

The running slot itself is claimed by the engine (`engine.slot`); here we only make sure that asking
twice does not queue twice, and that paused modules and disabled connections are refused with a reason.
Sending the work to a worker is `enqueue`'s.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from integration.models import ErpModel, ModuleConfig
from items.models import Item
from organizations.services import notification_create
from vendors.models import Vendor

from .models import Origin, RecordLink, RunStatus, SyncRun


def run_queue(*, module_config: ModuleConfig, trigger: str) -> tuple[SyncRun | None, bool, str]:
    """A queued run of the module, unless the module may not sync or a run is queued or running already.
    Returns (the new run, or the one in progress, or None; whether it is new; what to tell the user).
    Call inside a transaction; enqueue the new run's task when it commits (`enqueue.sync_now` does both).

    Requests at the same moment are serialised on the module config's row, so five clicks on Instant
    Sync make one run; the others are told a run is in progress.
    """
    module_config = ModuleConfig.objects.select_for_update().select_related("connection").get(pk=module_config.pk)
    reason = module_config.sync_refusal()
    if reason:
        return None, False, reason
    current = module_config.runs.in_progress().first()
    if current is not None:
        return current, False, "A sync of this module is already in progress."
    run = SyncRun.objects.create(module_config=module_config, trigger=trigger, status=RunStatus.QUEUED)
    return run, True, "Sync started."


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


def integration_delete(*, connection, mode: str, notify=None) -> dict:
    """Delete the integration: its links, module configurations (and their history) and the connection.

    Records that came from the CRM stay as plain records of this organization ("all"), or only those
    with transactions stay and the rest are deleted ("with_transactions"). Records created here are
    never deleted. Items have no transactions in this ERP, so "with_transactions" deletes the items
    that came from the CRM. `notify`, a user, is told when it is done.
    """
    counts = {"kept": 0, "deleted": 0}
    organization = connection.organization
    with transaction.atomic():
        links = RecordLink.objects.filter(connection=connection)
        if mode == "with_transactions":
            crm_ids = lambda model: links.filter(origin=Origin.CRM, erp_model=model).values("erp_id")  # noqa: E731
            doomed = [
                Customer.objects.filter(organization=organization, pk__in=crm_ids(ErpModel.CUSTOMER), invoices__isnull=True),
                Vendor.objects.filter(organization=organization, pk__in=crm_ids(ErpModel.VENDOR), bills__isnull=True),
                Item.objects.filter(organization=organization, pk__in=crm_ids(ErpModel.ITEM)),
            ]
            for queryset in doomed:
                counts["deleted"] += queryset.count()
                queryset.delete()
        counts["kept"] = links.filter(origin=Origin.CRM).count() - counts["deleted"]
        links.delete()
        Customer.objects.filter(organization=organization, crm_linked=True).update(crm_linked=False)
        Vendor.objects.filter(organization=organization, crm_linked=True).update(crm_linked=False)
        connection.module_configs.all().delete()
        connection.delete()
    if notify is not None:
        notification_create(
            organization=organization, user=notify,
            message=f"The Zoho CRM integration was deleted: {counts['kept']} record(s) from the CRM were kept, "
                    f"{counts['deleted']} deleted.",
        )
    return counts
