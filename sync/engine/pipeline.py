"""A large load's pages written while the next one is planned: the writes of a page (COPY of its new rows,
its links, the run's progress and the cursor, in one transaction) go to one of two threads, each with a
database connection of its own, and the caller plans the next page meanwhile. The three overlap because
the writing threads mostly wait for PostgreSQL, which works on the other core: while one page's rows enter
their indexes, the next page's are sent.

Only a page that adds rows and changes none (a first load's; not items, whose next page must see the SKUs
taken) is written this way, and the next page is planned as if the pages in flight were committed: the
customers they give a primary contact person are handed over, and a page naming a record of a page in
flight waits for it. Any other page is planned again once the pages before are committed and written as
`incoming.apply_records` writes it; so is a page the database refused, and every page after it.

Pages commit in order: a page's writer sends its rows, then waits for the page before to be committed
before it writes the run's progress and the cursor, and rolls its page back should the page before have
been refused. A cursor therefore never counts a page that is not committed, and a crash replays at most
the two pages in flight and the one planned.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as db_connection

from .adapters import CrmModuleRead
from .bulk import ReservedIds, relaxed_commit
from .context import RunContext
from .incoming import apply_records, plan_page, write_page

log = logging.getLogger("sync")

# The writing threads wait for the lock of the interpreter after each answer of the database while the
# planning thread runs: at the default 5 ms a page's dozen round trips would cost more than its writes.
SWITCH_SECONDS = 0.0005
ID_PAGES = 8  # primary keys are reserved for this many pages at a time
WRITERS = 2  # pages in flight at once, each on its own connection
# How long a page's writer waits for the page before it to commit. Pages in flight touch no row in common,
# so only a fault of planning could make the page before wait for this one's rows; this one then gives
# way (rolls back, to be written again), rather than both waiting for ever.
TURN_SECONDS = 30.0


class NotItsTurn(Exception):
    """A page rolled back because the page before it was not committed: it is written again."""


def usable() -> bool:
    """A second connection sees only what is committed: not inside a caller's transaction, on PostgreSQL."""
    return (settings.CRM_PIPELINED_WRITES and db_connection.vendor == "postgresql"
            and not db_connection.in_atomic_block)


@dataclass
class _InFlight:
    """A page being written: what the next pages' plans take from it, its outcome (its counts once
    committed), and what to write again should it not be committed."""

    records: list[dict]
    cursor: dict | None
    primaries: set[int] = field(default_factory=set)
    crm_ids: set[str] = field(default_factory=set)
    outcome: Future = field(default_factory=Future)


class PageWriter:
    """`apply(records, cursor)` for the pages of one pass, in order; `close()` (always) waits for the last.
    The caller's thread plans each page and makes its COPY data (the Python work); the writers' threads
    only send it and the page's few statements, so the threads hardly compete for the interpreter."""

    def __init__(self, ctx: RunContext, read: CrmModuleRead, *, new: bool = False):
        self.ctx, self.read = ctx, read
        # No record of the module was linked when the pass began: its pages are planned without looking
        # their links up (the files hold each record once); a link made meanwhile elsewhere makes the
        # database refuse the page, which is then planned again on what is committed.
        self.new = new
        self._flights: deque[_InFlight] = deque()  # oldest first
        self._serial = False  # after a page not committed: every later page is written in the caller's thread
        self._ids = ReservedIds(pages=ID_PAGES)
        self._jobs = [queue.Queue() for _ in range(WRITERS)]
        self._turn = 0
        self._threads = [threading.Thread(target=self._work, args=(jobs,), name="page-writer", daemon=True)
                         for jobs in self._jobs]
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_SECONDS)
        for thread in self._threads:
            thread.start()

    def apply(self, records: list[dict], cursor: dict | None) -> None:
        if self._serial:
            apply_records(self.ctx, self.read, records, cursor=cursor)
            return
        ids = {str(record.get("id")) for record in records}
        if any(not flight.crm_ids.isdisjoint(ids) for flight in self._flights) and not self._settle():
            apply_records(self.ctx, self.read, records, cursor=cursor)
            return
        primaries = set().union(*(flight.primaries for flight in self._flights))
        planned = plan_page(self.ctx, self.read, records, primaries=primaries, new=self.new)
        if planned.only_adds:
            planned.stage(self._ids)  # while the pages before are written
        committed = self._settle(keep=WRITERS - 1 if planned.only_adds else 0)
        if not committed or not planned.only_adds:
            # Planned on what is committed now, as a page is written without a pipeline.
            apply_records(self.ctx, self.read, records, cursor=cursor)
            return
        before = self._flights[-1].outcome if self._flights else None
        flight = _InFlight(records=records, cursor=cursor, primaries=planned.primaries(), crm_ids=ids)
        self._flights.append(flight)
        self._jobs[self._turn].put((planned, cursor, flight.outcome, before))
        self._turn = (self._turn + 1) % WRITERS

    def _settle(self, keep: int = 0) -> bool:
        """Wait for the oldest pages in flight to be committed until at most `keep` are left. A page the
        database refused is written again as apply_records writes it (record by record where it must, the
        refusals in the history), and so is every page after it; returns False then."""
        while len(self._flights) > keep:
            flight = self._flights.popleft()
            try:
                counts = flight.outcome.result()
            except (DatabaseError, NotItsTurn) as error:
                log.warning("a pipelined page write failed (%s); writing it again, and the rest without a "
                            "pipeline", error)
                for again in self._drain(flight):
                    apply_records(self.ctx, self.read, again.records, cursor=again.cursor)
                return False
            except BaseException:
                self._drain(flight)
                raise
            self.ctx.growth.grew(counts.added)
        return True

    def _drain(self, first: _InFlight) -> list[_InFlight]:
        """`first` and the pages after it, once each is done (each after a page not committed rolls back,
        see _wait_for); the rest of the pass is written without the pipeline."""
        self._serial = True
        flights = [first, *self._flights]
        self._flights.clear()
        for flight in flights:
            error = flight.outcome.exception()
            if error is not None and not isinstance(error, (DatabaseError, NotItsTurn)):
                raise error
        return flights

    def close(self) -> None:
        try:
            self._settle()
        finally:
            for jobs in self._jobs:
                jobs.put(None)
            for thread in self._threads:
                thread.join()
            sys.setswitchinterval(self._interval)

    def _work(self, jobs: queue.Queue) -> None:
        try:
            while (job := jobs.get()) is not None:
                planned, cursor, outcome, before = job
                try:
                    with transaction.atomic():
                        relaxed_commit()
                        counts = write_page(self.ctx, self.read, planned, cursor=cursor,
                                            ready=lambda before=before: _wait_for(before))
                except BaseException as error:  # noqa: BLE001 - raised in the caller's thread
                    outcome.set_exception(error)
                else:
                    # Only once committed: the caller then plans on what this page wrote, and a commit
                    # refused (a deferred constraint) is a refused page.
                    outcome.set_result(counts)
        finally:
            db_connection.close()


def _wait_for(before: Future | None) -> None:
    """The page before must be committed before this one writes its progress and cursor."""
    if before is None:
        return
    try:
        error = before.exception(timeout=TURN_SECONDS)
    except TimeoutError:
        raise NotItsTurn(f"the page before was not committed within {TURN_SECONDS:.0f} seconds") from None
    if error is not None:
        raise NotItsTurn(f"the page before was not committed ({error})")
