"""What operators do to fix problems themselves: retry the records of open issues, approve or reject the
deletions a run held. The pages and the `crm_issues` / `crm_deletions` commands call these."""

from __future__ import annotations

import datetime

from django.db import transaction

from integration.models import ModuleConfig

from . import alerts
from .engine import run as engine
from .engine.adapters import MODELS
from .flags import mark_linked
from .models import AlertKind, HeldDeletion, OpenIssue, RecordLink, SyncRun


def open_issues(*, module_config: ModuleConfig):
    return OpenIssue.objects.filter(module_config=module_config, closed_at__isnull=True)


def issues_retry(*, module_config: ModuleConfig, issue_ids: list[int] | None = None) -> SyncRun | None:
    """Fetch the records of these open issues (all when None) by id and apply them now, as a run with the
    trigger "retry"; both ways, what is still to be sent goes too. Issues whose record syncs close."""
    issues = open_issues(module_config=module_config)
    if issue_ids is not None:
        issues = issues.filter(pk__in=issue_ids)
    issues = list(issues)
    if not issues:
        return None
    changes: dict[str, list[str]] = {}
    for issue in issues:
        if issue.crm_id:
            changes.setdefault(issue.crm_module, []).append(issue.crm_id)
    since = min(issue.first_seen for issue in issues) - datetime.timedelta(days=1)
    return engine.run_retry(module_config=module_config, changes=changes, since=since)


def held_deletions(*, module_config: ModuleConfig):
    return HeldDeletion.objects.filter(module_config=module_config).select_related("run")


def _held(module_config: ModuleConfig, crm_ids: list[str] | None) -> list[HeldDeletion]:
    held = held_deletions(module_config=module_config)
    if crm_ids is not None:
        held = held.filter(crm_id__in=crm_ids)
    return list(held)


def held_approve(*, module_config: ModuleConfig, crm_ids: list[str] | None = None) -> SyncRun | None:
    """Apply these held deletions (all when None) with the deletion rules: records that came from the CRM
    without transactions are deleted, those with transactions kept inactive and unlinked, records made
    here never deleted."""
    held = _held(module_config, crm_ids)
    if not held:
        return None
    changes: dict[str, list[str]] = {}
    for row in held:
        changes.setdefault(row.crm_module, []).append(row.crm_id)
    run = engine.run_approved(module_config=module_config, changes=changes)
    if run.status in ("succeeded", "partial"):
        HeldDeletion.objects.filter(pk__in=[row.pk for row in held]).delete()
        _resolve_if_none(module_config)
    return run


def held_reject(*, module_config: ModuleConfig, crm_ids: list[str] | None = None) -> int:
    """Keep these records here and unlink them: should the CRM record come back, the duplicate rule links
    it anew. Returns how many."""
    held = _held(module_config, crm_ids)
    with transaction.atomic():
        RecordLink.objects.filter(connection=module_config.connection, crm_module__in={h.crm_module for h in held},
                                  crm_id__in=[h.crm_id for h in held]).delete()
        for erp_model in {h.erp_model for h in held}:
            mark_linked(MODELS[erp_model], [h.erp_id for h in held if h.erp_model == erp_model], False)
        HeldDeletion.objects.filter(pk__in=[h.pk for h in held]).delete()
    _resolve_if_none(module_config)
    return len(held)


def _resolve_if_none(module_config: ModuleConfig) -> None:
    if not HeldDeletion.objects.filter(module_config=module_config).exists():
        alerts.resolve_alert(organization=module_config.connection.organization, kind=AlertKind.HELD,
                             module=module_config.module)


def last_success(*, module_config: ModuleConfig):
    return (SyncRun.objects.filter(module_config=module_config, status__in=("succeeded", "partial"))
            .order_by("-finished_at").values_list("finished_at", flat=True).first())
