"""Asking for runs (instant, scheduled, initial, re-sync), pausing, and deleting the integration.

The running slot itself is claimed by the runner; here we only make sure that asking twice does not
queue twice, and that paused modules and disabled connections are refused with a reason.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from integration.models import ConnectionStatus, ModuleConfig

from .models import RunStatus, SyncRun

IN_PROGRESS = (RunStatus.QUEUED, RunStatus.RUNNING)


def refusal(module_config: ModuleConfig) -> str | None:
    """Why this module may not sync now, or None."""
    connection = module_config.connection
    if connection.status == ConnectionStatus.DISABLED:
        return "The Zoho CRM integration is disabled."
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        return "Zoho CRM needs to be authorized again before anything syncs."
    if not module_config.configured:
        return "This module is not configured for sync yet."
    if module_config.paused:
        return f"{module_config.get_module_display()} sync is paused."
    return None


def sync_now(*, module_config: ModuleConfig, trigger: str) -> tuple[SyncRun | None, bool, str]:
    """Queue a run of the module unless one is queued or running. Returns (run, started, message).

    Requests at the same moment are serialised on the module config's row, so five clicks on
    Instant Sync make one run; the others are told a run is in progress.
    """
    from .tasks import sync_module

    with transaction.atomic():
        module_config = ModuleConfig.objects.select_for_update().select_related("connection").get(
            pk=module_config.pk
        )
        reason = refusal(module_config)
        if reason:
            return None, False, reason
        current = module_config.runs.in_progress().first()
        if current is not None:
            return current, False, "A sync of this module is already in progress."
        run = SyncRun.objects.create(module_config=module_config, trigger=trigger, status=RunStatus.QUEUED)
        sync_module.delay_on_commit(run.pk)
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


def module_config_for_link(link) -> ModuleConfig | None:
    module = {"customer": "customers", "contact_person": "customers", "vendor": "vendors", "item": "items"}[
        link.erp_model
    ]
    return ModuleConfig.objects.filter(connection=link.connection, module=module).select_related("connection").first()


def resync_request(*, link) -> tuple[None, bool, str]:
    """Fetch one linked record from the CRM again, in the background, recorded as a "resync" run.

    A paused module still re-syncs one record on request: pausing stops the scheduled and instant
    syncs of the whole module, not a user's explicit request for one record.
    """
    from .tasks import resync_record

    module_config = module_config_for_link(link)
    if module_config is None:
        return None, False, "This module is not configured for sync."
    connection = module_config.connection
    if connection.status != ConnectionStatus.ACTIVE:
        return None, False, refusal(module_config) or "The integration is not active."
    resync_record.delay_on_commit(link.pk)
    return None, True, "Re-sync from CRM started; the record updates in a moment."


def integration_delete_request(*, connection, mode: str, user) -> None:
    from .tasks import delete_integration

    delete_integration.delay_on_commit(connection.pk, mode, user.pk if user else None)


def integration_delete(*, connection, mode: str) -> dict:
    """Delete the integration: its links, module configurations (and their history) and the connection.

    Records that came from the CRM stay as plain records of this organization ("all"), or only those
    with transactions stay and the rest are deleted ("with_transactions"). Records created here are
    never deleted. Items have no transactions in this ERP, so "with_transactions" deletes the items
    that came from the CRM.
    """
    from customers.models import Customer
    from items.models import Item
    from vendors.models import Vendor

    from .models import Origin, RecordLink

    counts = {"kept": 0, "deleted": 0}
    organization = connection.organization
    with transaction.atomic():
        links = RecordLink.objects.filter(connection=connection)
        if mode == "with_transactions":
            crm_ids = lambda model: links.filter(origin=Origin.CRM, erp_model=model).values("erp_id")  # noqa: E731
            doomed = [
                Customer.objects.filter(organization=organization, pk__in=crm_ids("customer"), invoices__isnull=True),
                Vendor.objects.filter(organization=organization, pk__in=crm_ids("vendor"), bills__isnull=True),
                Item.objects.filter(organization=organization, pk__in=crm_ids("item")),
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
    return counts
