"""A custom view past the page_token window: its records read again by searches within the view for
`Modified_Time` between two instants, each window halved until it fits under the search's ceiling."""

from __future__ import annotations

import datetime

from django.utils import timezone

from integration.crm.client import SEARCH_CEILING, CrmPaginationLimit
from integration.crm.errors import CrmError

from .adapters import CrmModuleRead
from .context import RunContext
from .cursor import ONE_SECOND, iso
from .incoming import apply_records

# Search sees records a few moments after they are saved; the windows stop this long before the run
# began, and the next listing reads the rest.
SEARCH_INDEX_DELAY = datetime.timedelta(minutes=2)
EARLIEST_RECORD = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def read_view_by_windows(ctx: RunContext, read: CrmModuleRead, state: dict, since, fields: list[str]) -> datetime.datetime:
    """Every record of the view modified since `since` (all of them on a first sync). Records changed in
    the last minutes before the run are left to the next run's listing (the CRM indexes them for search
    with a delay), so the pass ends with the cursor at the windows' end, which is returned."""
    module, view = read.crm_module, read.view_id
    end = (ctx.run.started_at or timezone.now()).replace(microsecond=0) - SEARCH_INDEX_DELAY
    begin = (since or EARLIEST_RECORD).replace(microsecond=0)
    windows = [(begin, end)] if begin <= end else []
    while windows:
        low, high = windows.pop()
        criteria = f"(Modified_Time:between:{iso(low)},{iso(high)})"
        total = ctx.client.count(module, criteria=criteria, cvid=view)
        try:
            if total > SEARCH_CEILING:
                raise CrmPaginationLimit("more than a search reaches")
            for page in ctx.client.iter_search_pages(module, criteria=criteria, cvid=view, fields=fields):
                apply_records(ctx, read, page.records, cursor=ctx.cursor_with(module, dict(state)))
        except CrmPaginationLimit:
            windows += _halves(module, low, high)
    return max(begin, end)


def _halves(module: str, low: datetime.datetime, high: datetime.datetime):
    """The two halves of a window, the earlier one to be read first (popped last)."""
    if high - low < ONE_SECOND:
        raise CrmError(
            f"More than {SEARCH_CEILING} {module} records of the view share one modification time; "
            "the CRM's search cannot get past them. Sync without a view once.") from None
    middle = (low + (high - low) / 2).replace(microsecond=0)
    return [(middle + ONE_SECOND, high), (low, middle)]
