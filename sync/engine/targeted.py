"""Runs of a few records, started by changes on either side rather than by the schedule: records a CRM
notification named, fetched by id; records saved here, pushed a moment later. Both go through the same
doors as a full run (`incoming.apply_records`, `push.push`, the deletion rules), so every rule holds; a
full run's cursor is theirs to leave alone, and the next poll reads those records again as no-ops."""

from __future__ import annotations

import datetime

from django.utils import timezone

from . import deletions, fetch, mapping_check, push
from .adapters import push_adapters_for, reads_for
from .context import RunContext
from .cursor import latest_time, parse_time
from .incoming import apply_records

BY_ID = 100  # records fetched by id in one call


def apply_changes(ctx: RunContext, changes: dict[str, list[str]], *, since: datetime.datetime) -> datetime.datetime | None:
    """The CRM records named in `changes` (CRM module -> ids), fetched and applied; those no longer in
    the CRM follow the deletion rules once the CRM's deleted records confirm it. A module read through a
    custom view is read by its ordinary listing instead (records by id say nothing of the view). Returns
    the latest modification time among the records applied."""
    mapping_check.check(ctx)
    latest = None
    for read in reads_for(ctx.config):
        ids = changes.get(read.crm_module)
        if not ids:
            continue
        if read.view_id:
            fetch.fetch(ctx, read)
            continue
        found: set[str] = set()
        for start in range(0, len(ids), BY_ID):
            records = ctx.client.get_records(read.crm_module, ids[start:start + BY_ID], fields=ctx.fetch_fields(read))
            found |= {str(r.get("id")) for r in records}
            if records:
                apply_records(ctx, read, records, cursor=None)
                page_latest = latest_time(records)
                latest = max(latest, page_latest) if latest and page_latest else (page_latest or latest)
        missing = set(ids) - found
        if missing:
            _deleted(ctx, read, missing, since)
    return latest


def _deleted(ctx: RunContext, read, missing: set[str], since: datetime.datetime) -> None:
    """Of records the CRM did not return, those its deleted records list since `since` are gone."""
    gone = [str(r.get("id")) for r in ctx.client.iter_deleted(read.crm_module, since=since)
            if str(r.get("id")) in missing and parse_time(r.get("deleted_time"))]
    if gone:
        deletions.record_gone(ctx, read, gone)


def push_saved(ctx: RunContext) -> None:
    """What was saved here since its last sync, pushed now: the CRM's side read first, by id, so that the
    module's conflict rules decide (the CRM wins customers' and vendors' conflicts, the ERP items'); a
    new record that looks like one already in the CRM waits for the next full run's duplicate rule."""
    mapping_check.check(ctx)
    for adapter in push_adapters_for(ctx.config):
        push.push(ctx, adapter, new_records=True, before_fetch=True, against_crm=True)


def lag(latest: datetime.datetime | None) -> float | None:
    """Seconds from the latest change applied being made in the CRM to now."""
    return max(0.0, (timezone.now() - latest).total_seconds()) if latest else None
