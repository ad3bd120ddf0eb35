"""Open issues: the records a module fails to sync, followed across runs. A run's errors open an issue per
record, or count again on the one already open; an open issue closes by itself once its record syncs
cleanly (its link is written by a later run that has no error for it)."""

from __future__ import annotations

from django.db.models import Q

from ..models import IssueKind, OpenIssue, RecordLink, SyncIssue, SyncRun


def _key(issue) -> tuple | None:
    """Which record an issue is about: the CRM record, else the ERP record the CRM has not got yet."""
    if issue.crm_id:
        return (issue.crm_module, issue.crm_id, "", None)
    if issue.erp_id is not None:
        return ("", "", issue.erp_model, issue.erp_id)
    return None  # about the run as a whole


def track(run: SyncRun) -> None:
    """Open, count and close the module's issues after a run."""
    config, now = run.module_config, run.finished_at
    failing = {}
    for issue in SyncIssue.objects.filter(run=run, kind=IssueKind.ERROR).order_by("id"):
        key = _key(issue)
        if key is not None:
            failing[key] = issue
    open_issues = {_key(o): o for o in OpenIssue.objects.filter(module_config=config, closed_at__isnull=True)}
    new, again = [], []
    for key, issue in failing.items():
        found = open_issues.get(key)
        if found is None:
            new.append(OpenIssue(module_config=config, crm_module=key[0], crm_id=key[1], erp_model=key[2] or issue.erp_model,
                                 erp_id=key[3] if key[3] is not None else issue.erp_id, field=issue.field,
                                 message=issue.message, first_seen=now, last_seen=now, last_run=run))
        else:
            found.count, found.last_seen, found.last_run = found.count + 1, now, run
            found.message, found.field = issue.message, issue.field
            again.append(found)
    OpenIssue.objects.bulk_create(new)
    OpenIssue.objects.bulk_update(again, ["count", "last_seen", "last_run", "message", "field"])
    _close_synced(run, [o for key, o in open_issues.items() if key not in failing])


def _close_synced(run: SyncRun, candidates: list[OpenIssue]) -> None:
    if not candidates or run.started_at is None:
        return
    links = RecordLink.objects.filter(connection_id=run.module_config.connection_id,
                                      last_synced_at__gte=run.started_at)
    crm_keys = [o for o in candidates if o.crm_id]
    erp_keys = [o for o in candidates if not o.crm_id]
    synced = set()
    if crm_keys:
        synced |= set(links.filter(crm_id__in=[o.crm_id for o in crm_keys]).values_list("crm_module", "crm_id"))
    if erp_keys:
        condition = Q()
        for o in erp_keys:
            condition |= Q(erp_model=o.erp_model, erp_id=o.erp_id)
        synced |= {("erp", model, pk) for model, pk in links.filter(condition).values_list("erp_model", "erp_id")}
    closing = [o.pk for o in crm_keys if (o.crm_module, o.crm_id) in synced]
    closing += [o.pk for o in erp_keys if ("erp", o.erp_model, o.erp_id) in synced]
    OpenIssue.objects.filter(pk__in=closing).update(closed_at=run.finished_at, closed_by=run)
