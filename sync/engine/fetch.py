"""Fetch (CRM → ERP): every record of a CRM module modified since the module's cursor, a page at a time.

Without a view the listing is sorted by Modified_Time, so the cursor advances with each committed page,
and a page_token chain that reaches the CRM's 100,000-record window starts again from the last time
seen. A custom view cannot be sorted: the pass keeps its starting cursor until it is complete, and a
view with more changes than one chain reaches is read again by searches within the view for
modification-time windows (`view_windows`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from contextlib import closing

from django.utils import timezone

from integration.crm.client import CrmPageTokenExpired, CrmPaginationLimit
from integration.crm.errors import CrmError, CrmInvalidData

from ..models import SyncRun
from . import bulk_read, cursor, erp_id, mapping_check
from .adapters import CrmModuleRead
from .context import RunContext
from .cursor import ONE_SECOND, latest_time
from .incoming import apply_records
from .progress import Counts, record_progress
from .view_windows import read_view_by_windows

log = logging.getLogger("sync")

CHAIN_CEILING = 100_000  # a page_token chain ends at this record; start a new one before
VIEW_PASS_ATTEMPTS = 3  # a view read again after its page_token expired, at most this many times


class _Restart(Exception):
    """Start a new page_token chain from the last time seen."""


def signature(ctx: RunContext, read: CrmModuleRead) -> str:
    """What the records fetched so far depend on: when it changes, the next pass starts over."""
    fields = sorted(set(ctx.fetch_fields(read)) - {erp_id.FIELD})
    parts = {"view": read.view_id, "fields": fields, "adapters": [a.name for a in read.adapters]}
    if read.routes_by_account:
        parts["accounts_view"] = ctx.config.crm_view_id
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def start_bulk_reads(ctx: RunContext, reads: list[CrmModuleRead]) -> None:
    """Before the first module is fetched: the Bulk Read jobs of the modules that will need one, started
    together (the CRM prepares the later modules' files while the first is applied)."""
    for read in reads:
        state, current = ctx.state(read.crm_module), signature(ctx, read)
        if state.get("signature") != current:
            state = cursor.start_over(state, current)  # (what fetch() would do first)
        elif cursor.parse_time(state.get(cursor.MODIFIED)):
            continue  # an incremental pass: Get Records
        total = _count(ctx, read.crm_module, read.view_id)
        ctx.counted[read.crm_module] = total
        if bulk_read.wanted(total):
            try:
                bulk_read.start_early(ctx, read, state, ctx.fetch_fields(read))
            except bulk_read.BulkReadUnavailable:
                pass  # fetch() tries again, and says why when it falls back


def fetch(ctx: RunContext, read: CrmModuleRead) -> None:
    """The phase, for one CRM module."""
    module = read.crm_module
    state = ctx.state(module)
    current = signature(ctx, read)
    if state.get("signature") != current:
        state = cursor.start_over(state, current)
    state.setdefault(cursor.DELETED, cursor.iso(ctx.run.started_at or timezone.now()))
    start = cursor.parse_time(state.get(cursor.MODIFIED))
    began = timezone.now()
    fields = ctx.fetch_fields(read)
    if start is None:
        total = ctx.counted.pop(module) if module in ctx.counted else _count(ctx, module, read.view_id)
        if bulk_read.wanted(total) or (state.get(bulk_read.BULK) or {}).get("job"):
            start = _bulk(ctx, read, state, fields)
    since = cursor.since(state, cursor.MODIFIED)
    try:
        if read.view_id:
            _fetch_view(ctx, read, state, start, since, fields)
        else:
            _fetch_sorted(ctx, read, state, start, since, fields)
    except CrmInvalidData as error:
        if (error.details or {}).get("param_name") == "fields":
            mapping_check.check(ctx, fresh=True)  # the CRM does not know a field: which pair broke?
        raise
    if cursor.parse_time(state.get(cursor.MODIFIED)) is None:
        # A first pass that found no record (none with a modification time): the cursor goes where it began,
        # less the clocks' margin Bulk Read takes, so the next pass asks only for what is modified since
        # rather than counting and reading the module again.
        cursor.advance(state, cursor.MODIFIED, began - bulk_read.MARGIN, complete=True)
        _pass_done(ctx, read, state)


def _fields_answered(ctx: RunContext, read: CrmModuleRead, records: list[dict], fields: list[str]) -> None:
    """Zoho answers every field asked for (null when empty). A server that leaves out one it does not know
    must not make us write blanks: the mapping is checked on fresh metadata first (once per run)."""
    if not records or read.crm_module in ctx.fields_answered:
        return
    if any(name not in records[0] for name in fields):
        mapping_check.check(ctx, fresh=True)
    ctx.fields_answered.add(read.crm_module)


def _count(ctx: RunContext, module: str, view_id: str) -> int | None:
    """The number of records a full pass will read, for the progress bar (one cheap call)."""
    try:
        total = ctx.client.count(module, cvid=view_id or None)
    except CrmInvalidData:
        return None
    run = ctx.run
    SyncRun.objects.filter(pk=run.pk).update(progress_total=(run.progress_total or 0) + total)
    run.progress_total = (run.progress_total or 0) + total
    return total


def _bulk(ctx: RunContext, read: CrmModuleRead, state: dict, fields: list[str]) -> datetime.datetime | None:
    """A large first pass from Bulk Read; returns where the sorted pass that follows starts (None: from the
    start, when Bulk Read could not be used)."""
    try:
        return bulk_read.read_all(ctx, read, state, fields)
    except bulk_read.BulkReadUnavailable as why:
        log.warning("%s: %s; reading with Get Records", read.crm_module, why)
        ctx.note(f"{read.crm_module}: {why} The records were read page by page instead.")
        state.pop(bulk_read.BULK, None)
        return None


def _pass_done(ctx: RunContext, read: CrmModuleRead, state: dict) -> None:
    record_progress(ctx.adapter_run(read.adapters[0]), Counts(), cursor=ctx.cursor_with(read.crm_module, state))


def _fetch_sorted(ctx: RunContext, read: CrmModuleRead, state: dict, start, since, fields: list[str]) -> None:
    """Sorted by Modified_Time: the cursor advances with each committed page, and a chain that reaches
    the 100,000-record window starts again from the last time seen. The chain's next page_token is in
    the cursor too, so a run that gave its worker back goes on with the same chain."""
    latest = start
    chain = state.get(cursor.CHAIN) or {}
    if chain:
        since = cursor.parse_time(chain.get("since"))
    while True:
        in_chain = int(chain.get("seen") or 0)
        try:
            pages = ctx.client.read_ahead(ctx.client.iter_pages(
                read.crm_module, fields=fields, sort_by="Modified_Time", sort_order="asc",
                modified_since=since, window=CHAIN_CEILING, page_token=chain.get("page_token"), seen=in_chain))
            with closing(pages):
                for page in pages:
                    _fields_answered(ctx, read, page.records, fields)
                    page_latest = latest_time(page.records)
                    if page_latest is not None:
                        latest = max(latest, page_latest) if latest else page_latest
                        cursor.advance(state, cursor.MODIFIED, latest, complete=False)
                    in_chain += len(page.records)
                    _note_chain(state, page, since, in_chain)
                    apply_records(ctx, read, page.records, cursor=ctx.cursor_with(read.crm_module, dict(state)))
                    if page.window_full:
                        raise _Restart
                    if cursor.CHAIN in state:  # the cursor has this page and where the chain goes on
                        ctx.checkpoint()  # ... so a slice may end here
            if latest is not None:
                cursor.advance(state, cursor.MODIFIED, latest, complete=True)
                _pass_done(ctx, read, state)
            return
        except (CrmPaginationLimit, CrmPageTokenExpired, _Restart) as reason:
            state.pop(cursor.CHAIN, None)
            chain = {}
            since = _restart_from(read, latest, since, in_chain, reason)


def _note_chain(state: dict, page, since, seen: int) -> None:
    """Where the page_token chain goes on after this page (none when it ends here)."""
    token = page.info.get("next_page_token")
    if page.more and token and not page.window_full:
        state[cursor.CHAIN] = {"since": cursor.iso(since) if since else None, "page_token": token, "seen": seen}
    else:
        state.pop(cursor.CHAIN, None)


def _restart_from(read: CrmModuleRead, latest, since, in_chain: int, reason: Exception) -> datetime.datetime:
    """Where a new chain starts: the last time seen (minus its second, whose records may not all be in)."""
    restart = latest - ONE_SECOND if latest else None
    if restart is None or (since is not None and restart <= since):
        if isinstance(reason, CrmPageTokenExpired):
            raise CrmError(f"The CRM's page_token expired before the next page of {read.crm_module} was read, "
                           "twice at the same place.") from None
        raise CrmError(
            f"More than {CHAIN_CEILING} {read.crm_module} records share one modification time; "
            "the CRM's paging cannot get past them.") from None
    why = "the page_token expired" if isinstance(reason, CrmPageTokenExpired) else "page_token window reached"
    log.info("%s: %s after %s records; restarting from %s", read.crm_module, why, in_chain, restart)
    return restart


def _read_view_chain(ctx: RunContext, read: CrmModuleRead, state: dict, since, fields: list[str], largest):
    """One page_token chain through the view; returns the largest modification time seen."""
    pages = ctx.client.read_ahead(ctx.client.iter_pages(
        read.crm_module, fields=fields, cvid=read.view_id, modified_since=since, window=CHAIN_CEILING))
    with closing(pages):
        for page in pages:
            _fields_answered(ctx, read, page.records, fields)
            page_latest = latest_time(page.records)
            if page_latest is not None:
                largest = max(largest, page_latest) if largest else page_latest
            apply_records(ctx, read, page.records, cursor=ctx.cursor_with(read.crm_module, dict(state)))
            if page.window_full:
                raise CrmPaginationLimit("page_token window reached")
    return largest


def _fetch_view(ctx: RunContext, read: CrmModuleRead, state: dict, start, since, fields: list[str]) -> None:
    """A custom view cannot be sorted: keep the pass-start cursor until the pass is complete (a crash
    replays the pass, harmlessly), then move it to the largest time seen. A view with more changed
    records than one page_token chain reaches is read again by searches in time windows."""
    largest = start
    try:
        for attempt in range(VIEW_PASS_ATTEMPTS):
            try:
                largest = _read_view_chain(ctx, read, state, since, fields, largest)
                break
            except CrmPageTokenExpired:
                # Unsorted, a view's chain cannot resume from a time: the pass starts again (replays of the
                # pages already applied are no-ops).
                if attempt == VIEW_PASS_ATTEMPTS - 1:
                    raise CrmError(f"The CRM's page_token expired in the middle of the {read.crm_module} view "
                                   f"{VIEW_PASS_ATTEMPTS} times in a row.") from None
                log.info("%s: the page_token expired in the view; reading the view again", read.crm_module)
    except CrmPaginationLimit:
        log.info("%s: the view has more changes than a page_token chain reaches; reading it by time windows",
                 read.crm_module)
        largest = read_view_by_windows(ctx, read, state, since, fields)
    if largest is not None:
        cursor.advance(state, cursor.MODIFIED, largest, complete=True)
    _pass_done(ctx, read, state)
