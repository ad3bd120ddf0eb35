"""Before a run reads a module: are the mapped CRM fields still there, and of a type that still converts?
A field deleted in the CRM, given another API name or another type stops the module's runs with a reason
that names the field and its pair, before anything is written (rather than syncing blanks); the
configuration page marks the pair and admins are alerted. Once the mapping is fixed, runs go on from the
cursor.

The CRM's field metadata is cached (`CrmFieldCache`): read again when a day old, before calling a pair
broken, and whenever the CRM says a field is unknown.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from integration import catalogue
from integration.models import CrmFieldCache, FieldMapping, ModuleConfig

from .. import alerts
from ..models import AlertKind
from .context import RunContext

FRESH_FOR = datetime.timedelta(days=1)


class MappingBroken(Exception):
    """A mapped CRM field no longer holds; the message names it and its pair."""


def _fields(ctx: RunContext, module: str, *, fresh: bool) -> list[dict]:
    cache = CrmFieldCache.objects.filter(connection=ctx.connection, crm_module=module).first()
    if cache is None or fresh or cache.read_at < timezone.now() - FRESH_FOR:
        fields = ctx.client.fields(module)
        CrmFieldCache.objects.update_or_create(connection=ctx.connection, crm_module=module,
                                               defaults={"fields": fields, "read_at": timezone.now()})
        ctx.remember_crm_fields(module, fields)
        return fields
    ctx.remember_crm_fields(module, cache.fields)
    return cache.fields


def _problems(ctx: RunContext, *, fresh: bool) -> list[dict]:
    rows = list(FieldMapping.objects.filter(module_config=ctx.config))
    organization = ctx.connection.organization
    known, erp = {}, {}
    problems = []
    for row in rows:
        if row.crm_module not in known:
            known[row.crm_module] = {f.get("api_name"): f for f in _fields(ctx, row.crm_module, fresh=fresh)}
        if row.target not in erp:
            erp[row.target] = {f.name: f for f in catalogue.erp_fields(row.target, organization)}
        erp_field = erp[row.target].get(row.erp_field)
        if erp_field is None:
            continue  # a custom field deleted here: the mapping skips it
        crm_field = known[row.crm_module].get(row.crm_field)
        if crm_field is None:
            why = "is no longer in Zoho CRM (deleted, or its API name changed)"
        else:
            changed = row.crm_data_type and crm_field.get("data_type") != row.crm_data_type
            incompatible = catalogue.incompatibility(erp_field, crm_field) if changed else None
            if incompatible is None:
                continue  # unchanged since it was mapped, or changed to a type that still converts
            why = f"changed type and no longer converts ({incompatible.rstrip('.')})"
        problems.append({"crm_module": row.crm_module, "crm_field": row.crm_field, "target": row.target,
                         "erp_field": row.erp_field, "erp_label": erp_field.label, "why": why})
    return problems


def check(ctx: RunContext, *, fresh: bool = False) -> None:
    """Raise MappingBroken when a mapped pair no longer holds (and say so where admins look); clear the
    marks once it holds again."""
    config = ctx.config
    problems = _problems(ctx, fresh=fresh)
    if problems and not fresh:
        problems = _problems(ctx, fresh=True)  # not on a day-old reading of the CRM's fields
    organization = ctx.connection.organization
    if not problems:
        if config.broken_mapping:
            ModuleConfig.objects.filter(pk=config.pk).update(broken_mapping=[])
            config.broken_mapping = []
        alerts.resolve_alert(organization=organization, kind=AlertKind.FIELD_GONE, module=config.module)
        return
    ModuleConfig.objects.filter(pk=config.pk).update(broken_mapping=problems)
    config.broken_mapping = problems
    reason = describe(problems)
    alerts.open_alert(organization=organization, kind=AlertKind.FIELD_GONE, module=config.module, message=reason)
    raise MappingBroken(reason)


def describe(problems: list[dict]) -> str:
    pairs = "; ".join(f"the CRM field {p['crm_field']} ({p['crm_module']}), mapped to {p['erp_label']}, {p['why']}"
                      for p in problems)
    return (f"Nothing was synced: {pairs}. Fix the mapping on the module's configuration page; the next run goes "
            "on from where the last one stopped.")
