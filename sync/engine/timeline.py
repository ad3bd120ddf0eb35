"""A record's timeline: each change the sync made to an ERP record or sent from it, written with the page
that made it. Bounded: a record created by the sync writes nothing (its link says when), values are cut
to `VALUE_CHARS`, at most `FIELDS` fields an entry."""

from __future__ import annotations

from ..models import TimelineEntry
from .planner import Kind

VALUE_CHARS = 200
FIELDS = 30


def _shown(value):
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:VALUE_CHARS]


def _label(scope, name: str) -> str:
    spec = scope.by_name.get(name)
    return (spec.label if spec and spec.label else name)[:100]


def fetched(scope, data, action) -> list[TimelineEntry]:
    """What a fetched record changed here (linking an existing record counts as one entry), and its conflicts."""
    if action.kind == Kind.CREATE or action.erp_id is None:
        return []
    entries = []
    before = data.rows[action.erp_id].values if action.erp_id in data.rows else {}
    changes = [{"field": _label(scope, name), "old": _shown(before.get(name)), "new": _shown(value)}
               for name, value in list(action.erp_changes.items())[:FIELDS]]
    if action.kind == Kind.LINK or changes:
        entries.append(TimelineEntry(erp_model=scope.adapter.erp_model, erp_id=action.erp_id, run_id=scope.run.pk,
                                     kind="linked" if action.kind == Kind.LINK else "fetched", changes=changes))
    entries += conflicts(scope, action)
    return entries


def pushed(scope, action, erp_id: int) -> list[TimelineEntry]:
    """What a push sent to the CRM, from the last synced value to the ERP's, and its conflicts."""
    changes = [{"field": _label(scope, name), "old": _shown(action.base.get(name)), "new": _shown(value)}
               for name, value in list(action.push.items())[:FIELDS]]
    entries = [TimelineEntry(erp_model=scope.adapter.erp_model, erp_id=erp_id, run_id=scope.run.pk, kind="pushed",
                             changes=changes)] if changes else []
    return entries + conflicts(scope, action, erp_id=erp_id)


def conflicts(scope, action, *, erp_id: int | None = None) -> list[TimelineEntry]:
    found = [{"field": _label(scope, issue.field), "crm": _shown(issue.crm_value), "erp": _shown(issue.erp_value),
              "message": issue.message[:300]} for issue in action.issues if issue.kind == "conflict"]
    if not found:
        return []
    return [TimelineEntry(erp_model=scope.adapter.erp_model, erp_id=erp_id or action.erp_id, run_id=scope.run.pk,
                          kind="conflict", changes=found[:FIELDS])]


def write(entries: list[TimelineEntry]) -> None:
    if entries:
        TimelineEntry.objects.bulk_create(entries, batch_size=500)
