"""Where a module's sync has got to in the CRM (`ModuleConfig.crm_cursor`), and the CRM's times.

The cursor is one JSON object per module configuration, with a key per CRM module the configuration
reads. This is the one place its shape is written down:

    {
      "Accounts": {
        "modified": "2026-05-01T10:00:00+00:00",  # records modified up to this instant are applied (UTC); after
                                                   # a first pass that found none, when it began less a minute
        "modified_settled": true,                  # ... and that second was long over when it was read
        "signature": "3f2a9c0d1e4b5a6f",           # what those records depend on: view, fields, adapters
        "deleted": "2026-05-01T09:58:00+00:00",    # deletions up to this instant are applied
        "deleted_settled": true,
        "erp_id_field": "ERP_Id",                  # the CRM module has our ERP id field (two-way only)
        "chain": {"since": "...", "page_token": "...", "seen": 400},  # a sorted listing's chain, mid-way
        "bulk": {"job": "...", "page": 1, "done": 2000, "started": "..."}  # a Bulk Read pass, mid-way
      },
      "Contacts": {...}
    }

Only the run holding the module's running slot writes it, in the transaction of the page it describes.
A key that is missing means "from the beginning"; a changed signature starts the module's records over.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

ONE_SECOND = datetime.timedelta(seconds=1)
# A modification time this far behind the moment we read it can gain no more records (Zoho's clock and
# commits are well within it), so the next listing need not replay that second.
SETTLED_AFTER = datetime.timedelta(seconds=60)
MODIFIED = "modified"
DELETED = "deleted"
CHAIN = "chain"


def parse_time(text) -> datetime.datetime | None:
    """A CRM date-time (with the org's offset, e.g. +05:30) as an aware instant; None when absent."""
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def latest_time(records: list[dict]) -> datetime.datetime | None:
    """The latest Modified_Time among these CRM records, if any has one."""
    return max((t for t in (parse_time(r.get("Modified_Time")) for r in records) if t), default=None)


def iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="seconds")


def state_of(config, module: str) -> dict:
    """A copy of one CRM module's part of the cursor, to change and save with `cursor_with`."""
    return dict((config.crm_cursor or {}).get(module) or {})


def cursor_with(config, module: str, state: dict) -> dict:
    """The whole cursor with one CRM module's part replaced: what a page saves."""
    cursor = dict(config.crm_cursor or {})
    cursor[module] = state
    return cursor


def since(state: dict, key: str) -> datetime.datetime | None:
    """If-Modified-Since for the next listing: the cursor minus one second, so that records saved in the
    cursor's second after we read it are not missed (replays are no-ops); the cursor itself when that
    second was long over when we read it."""
    cursor = parse_time(state.get(key))
    if cursor is None:
        return None
    return cursor if state.get(f"{key}_settled") else cursor - ONE_SECOND


def advance(state: dict, key: str, value: datetime.datetime, *, complete: bool) -> None:
    """Move a cursor. Only a complete pass may call its second settled: in the middle of one, the next
    page can still hold records of the same second."""
    state[key] = iso(value)
    state[f"{key}_settled"] = complete and value <= timezone.now() - SETTLED_AFTER


def start_over(state: dict, signature: str) -> dict:
    """The state for a pass whose records depend on something else now: modified records from the start
    (deletions keep their cursor)."""
    state = {k: v for k, v in state.items() if k not in (MODIFIED, f"{MODIFIED}_settled", "signature", CHAIN, "bulk")}
    state["signature"] = signature
    return state
