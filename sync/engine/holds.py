"""A hold on mass deletions: when the deletions a run would apply are more than the module allows at once
(by default more than 20 records and more than 10 % of its linked records; or always; or never), the run
holds them instead. Nothing is deleted, the records stay linked, admins are told, and an admin approves
(the deletion rules then apply) or rejects (the records stay and are unlinked)."""

from __future__ import annotations

from integration.models import DeletionHold

from .. import alerts
from ..models import AlertKind, HeldDeletion, RecordLink
from .adapters import Adapter, CrmModuleRead, adapters_for
from .context import RunContext

CHUNK = 1000


def hold_if_many(ctx: RunContext, read: CrmModuleRead, adapters: list[Adapter], crm_ids: list[str]) -> set[str]:
    """The CRM ids of `crm_ids` held (none when the module need not ask)."""
    config = ctx.config
    if config.deletion_hold == DeletionHold.NEVER or not crm_ids:
        return set()
    models = {adapter.erp_model for adapter in adapters}
    links = []
    for start in range(0, len(crm_ids), CHUNK):
        links += RecordLink.objects.filter(connection=ctx.connection, crm_module=read.crm_module, erp_model__in=models,
                                           crm_id__in=crm_ids[start:start + CHUNK], crm_deleted_at__isnull=True)
    if not links:
        return set()
    if config.deletion_hold == DeletionHold.THRESHOLD:
        linked = RecordLink.objects.filter(connection=ctx.connection, crm_deleted_at__isnull=True, erp_model__in={
            a.erp_model for a in adapters_for(config)}).count()
        if len(links) <= config.hold_over or len(links) * 100 <= linked * config.hold_over_percent:
            return set()
    _hold(ctx, read, adapters, links)
    return {link.crm_id for link in links}


def _hold(ctx: RunContext, read: CrmModuleRead, adapters: list[Adapter], links: list[RecordLink]) -> None:
    by_model = {adapter.erp_model: adapter for adapter in adapters}
    labels = {}
    for model, adapter in by_model.items():
        ids = [link.erp_id for link in links if link.erp_model == model]
        labels |= {(model, obj.pk): adapter.label(obj)[:255] for obj in adapter.model.objects.filter(pk__in=ids)}
    HeldDeletion.objects.bulk_create([
        HeldDeletion(module_config=ctx.config, run=ctx.run, crm_module=read.crm_module, crm_id=link.crm_id,
                     erp_model=link.erp_model, erp_id=link.erp_id, label=labels.get((link.erp_model, link.erp_id), ""))
        for link in links], ignore_conflicts=True)
    held = HeldDeletion.objects.filter(module_config=ctx.config).count()
    alerts.open_alert(organization=ctx.connection.organization, kind=AlertKind.HELD, module=ctx.config.module,
                      message=f"{len(links)} {read.crm_module} records were deleted in Zoho CRM at once; their "
                              f"deletion here waits for an admin's approval ({held} held in all).")
