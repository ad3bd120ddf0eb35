"""A large load's pages written while the next one is planned: the writes of a page (COPY of its new rows,
its links, the run's progress and the cursor, in one transaction) go to a thread with a database
connection of its own, and the caller plans the next page meanwhile. The two overlap because the writing
thread mostly waits for PostgreSQL, which works on another core.

Only a page that adds rows and changes none (a first load's; not items, whose next page must see the SKUs
taken) is written this way, and the next page is planned as if it were committed: the customers it gives
a primary contact person are handed over, and a page naming a record of the page in flight waits for it.
Any other page is planned again once the page before is committed and written as
`incoming.apply_records` writes it; so is a page the database refused, and every page after it. Pages
commit in order, each with its cursor, so a crash replays at most the page in flight and the one planned.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as db_connection

from .adapters import CrmModuleRead
from .bulk import ReservedIds, relaxed_commit
from .context import RunContext
from .incoming import apply_records, plan_page, write_page

log = logging.getLogger("sync")

# The writing thread waits for the lock of the interpreter after each answer of the database while the
# planning thread runs: at the default 5 ms a page's dozen round trips would cost more than its writes.
SWITCH_SECONDS = 0.0005
ID_PAGES = 8  # primary keys are reserved for this many pages at a time


def usable() -> bool:
    """A second connection sees only what is committed: not inside a caller's transaction, on PostgreSQL."""
    return (settings.CRM_PIPELINED_WRITES and db_connection.vendor == "postgresql"
            and not db_connection.in_atomic_block)


@dataclass
class _InFlight:
    """The page being written: what the next page's plan takes from it, and what to write again should
    its write fail."""

    records: list[dict]
    cursor: dict | None
    primaries: set[int] = field(default_factory=set)
    crm_ids: set[str] = field(default_factory=set)


class PageWriter:
    """`apply(records, cursor)` for the pages of one pass, in order; `close()` (always) waits for the last.
    The caller's thread plans each page and makes its COPY data (the Python work); the writer's thread only
    sends it and the page's few statements, so the two threads hardly compete for the interpreter."""

    def __init__(self, ctx: RunContext, read: CrmModuleRead, *, new: bool = False):
        self.ctx, self.read = ctx, read
        # No record of the module was linked when the pass began: its pages are planned without looking
        # their links up (the files hold each record once); a link made meanwhile elsewhere makes the
        # database refuse the page, which is then planned again on what is committed.
        self.new = new
        self._jobs: queue.Queue = queue.Queue(maxsize=1)
        self._done: queue.Queue = queue.Queue()
        self._flight: _InFlight | None = None
        self._serial = False  # after a failed write: every later page is written in the caller's thread
        self._ids = ReservedIds(pages=ID_PAGES)
        self._thread = threading.Thread(target=self._work, name="page-writer", daemon=True)
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_SECONDS)
        self._thread.start()

    def apply(self, records: list[dict], cursor: dict | None) -> None:
        if self._serial:
            apply_records(self.ctx, self.read, records, cursor=cursor)
            return
        flight = self._flight
        if flight is not None and flight.crm_ids.intersection(str(record.get("id")) for record in records):
            self._settle()
            flight = None
        planned = plan_page(self.ctx, self.read, records, primaries=flight.primaries if flight else set(),
                            new=self.new)
        if planned.only_adds:
            planned.stage(self._ids)  # while the page before is written
        if not self._settle() or not planned.only_adds:
            # Planned on what is committed now, as a page is written without a pipeline.
            apply_records(self.ctx, self.read, records, cursor=cursor)
            return
        self._flight = _InFlight(records=records, cursor=cursor, primaries=planned.primaries(),
                                 crm_ids=planned.crm_ids())
        self._jobs.put((planned, cursor))

    def _settle(self) -> bool:
        """Wait for the page in flight, if any, to be committed. A page the database refused is written
        again as apply_records writes it (record by record where it must, the refusals in the history),
        and so is every later page; returns False then."""
        flight, self._flight = self._flight, None
        if flight is None:
            return True
        counts, error = self._done.get()
        if error is None:
            self.ctx.growth.grew(counts.added)
            return True
        if not isinstance(error, DatabaseError):
            raise error
        log.warning("a pipelined page write failed (%s); writing it again, and the rest without a pipeline", error)
        self._serial = True
        apply_records(self.ctx, self.read, flight.records, cursor=flight.cursor)
        return False

    def close(self) -> None:
        try:
            self._settle()
        finally:
            self._jobs.put(None)
            self._thread.join()
            sys.setswitchinterval(self._interval)

    def _work(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                planned, cursor = job
                try:
                    with transaction.atomic():
                        relaxed_commit()
                        counts = write_page(self.ctx, self.read, planned, cursor=cursor)
                except BaseException as error:  # noqa: BLE001 - raised in the caller's thread
                    self._done.put((None, error))
                else:
                    # Only once committed: the caller then plans on what this page wrote, and a commit
                    # refused (a deferred constraint) is a refused page.
                    self._done.put((counts, None))
        finally:
            db_connection.close()
