"""A run's counters and its record of what went wrong: the counts of each page, written with the page
together with the run's heartbeat and the module's cursor, and the SyncIssues of its records."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from integration.models import ModuleConfig

from ..models import IssueKind, SyncIssue, SyncRun
from .context import AdapterRun
from .planner import Action, Issue

COUNTED = ("added", "updated", "deleted", "skipped", "failed", "conflicts", "pushed")


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    conflicts: int = 0
    pushed: int = 0
    done: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def record_progress(scope: AdapterRun, counts: Counts, *, cursor: dict | None, now=None) -> None:
    """The run's counters, its heartbeat and the module's cursor: written with the page they describe."""
    now = now or timezone.now()
    changes = {name: F(name) + getattr(counts, name) for name in COUNTED if getattr(counts, name)}
    if counts.done:
        changes["progress_done"] = F("progress_done") + counts.done
    if scope.client is not None:
        changes.update(api_calls=scope.client.calls, retries=scope.client.retries, credits=scope.client.credits)
    SyncRun.objects.filter(pk=scope.run.pk).update(heartbeat_at=now, **changes)
    if cursor is not None:
        ModuleConfig.objects.filter(pk=scope.config.pk).update(crm_cursor=cursor)
        scope.config.crm_cursor = cursor


def shown(value) -> str:
    """A value as an issue keeps it: text, at most 2,000 characters, NUL spelled out (PostgreSQL refuses it)."""
    return "" if value is None else str(value)[:2000].replace("\x00", "\\x00")


def issue_for(scope: AdapterRun, action: Action, issue: Issue) -> SyncIssue:
    """The SyncIssue of one of an action's issues."""
    return SyncIssue(
        run=scope.run, kind=issue.kind, crm_module=scope.adapter.crm_module, crm_id=action.crm_id or "",
        erp_model=scope.adapter.erp_model if action.erp_id else "", erp_id=action.erp_id,
        field=issue.field[:100], message=shown(issue.message), crm_value=shown(issue.crm_value),
        erp_value=shown(issue.erp_value),
    )


def refused_by_crm(scope: AdapterRun, obj, crm_id: str, result) -> SyncIssue:
    """The issue of a record the CRM refused in a push (`result` is its WriteResult)."""
    details = result.details or {}
    field_name = str(details.get("api_name") or "")
    why = f" ({field_name}" if field_name else ""
    if field_name and str(details.get("maximum_length") or "").isdigit():
        why += f": at most {details['maximum_length']} characters there"
    why += ")" if field_name else ""
    return SyncIssue(run=scope.run, kind=IssueKind.ERROR, crm_module=scope.adapter.crm_module, crm_id=crm_id or "",
                     erp_model=scope.adapter.erp_model, erp_id=obj.pk, field=field_name[:100],
                     message=f"The CRM refused the record: {result.code} {result.message}{why}.")
