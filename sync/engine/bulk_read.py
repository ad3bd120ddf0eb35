"""Bulk Read for large loads: the first pass over a CRM module (an initial load, or a full re-read once
the records' signature changed) of more than `CRM_BULK_READ_THRESHOLD` records reads Bulk Read jobs'
CSV files rather than 200-record pages, at 50 credits a job instead of a credit a page.

A job is created, polled until it is done, and its zip streamed to a temporary file; the CSV is read row
by row (never whole), each row converted to the record Get Records would have given (by the CRM's
field metadata: numbers, booleans, lookups and owners as {"id": ...}), and applied through
`incoming.apply_records` in transactions of `ROWS_PER_TRANSACTION` records. The cursor says which job and
how many of its rows are applied, so a run that stops in the middle goes on with the same file; the
modification cursor moves only once every job's records are applied, to the first job's start, so the
ordinary sorted pass that follows catches what changed while the jobs ran. A job that fails, or a CRM
that offers no Bulk Read, leaves the pass to Get Records, with the reason in the run's notes.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import gc
import io
import logging
import queue
import tempfile
import threading
import time
import zipfile

from django.conf import settings
from django.utils import timezone

from integration.crm.errors import CrmError

from . import cursor, pipeline
from .adapters import CrmModuleRead
from .context import RunContext
from .incoming import apply_records

log = logging.getLogger("sync")

ROWS_PER_TRANSACTION = 2000  # a crash replays at most this many records
JOB_PAGE = 200_000  # records per job (a job's `page`)
# Between status reads, then the last one again: no more than half a second through the first ten
# seconds, in which a job of some hundred thousand records is often done (the load waits for the next
# read once it is), then slower: a job of minutes costs a status read every five seconds.
POLL_SECONDS = (0.1, 0.2, 0.3) + (0.5,) * 19 + (1, 2, 3, 5)
MARGIN = datetime.timedelta(minutes=1)  # the sorted pass starts this much before the first job did
# The cursor's key: {"job": id, "page": n, "done": rows applied, "started": iso, "new": bool, "next": id}
BULK = "bulk"
YOUNG_OBJECTS = 100_000  # the cycle collector's first threshold while a file is applied (Python's is 700)
LOOKUP_TYPES = {"lookup", "ownerlookup", "userlookup"}
INTEGER_TYPES = {"integer", "bigint", "long"}
NUMBER_TYPES = {"double", "currency", "percent", "decimal"}


class BulkReadUnavailable(Exception):
    """The pass cannot come from Bulk Read (a job failed, or the CRM refused one): use Get Records."""


def wanted(total: int | None) -> bool:
    return total is not None and total > settings.CRM_BULK_READ_THRESHOLD


def start_early(ctx: RunContext, read: CrmModuleRead, state: dict, fields: list[str]) -> None:
    """Start the module's first job now, to be ready when its turn comes (while the modules before it
    are applied); read_all takes it up from the cursor."""
    if (state.get(BULK) or {}).get("job"):
        return
    details = _start(ctx, read, fields, 1)
    state[BULK] = {"job": details["id"], "page": 1, "done": 0, "started": _created(details)}
    ctx.save_cursor(read.crm_module, state)


def read_all(ctx: RunContext, read: CrmModuleRead, state: dict, fields: list[str]) -> datetime.datetime:
    """Apply every record of the module from Bulk Read jobs. Returns when the sorted pass that follows
    should start. Raises BulkReadUnavailable."""
    progress = dict(state.get(BULK) or {})
    page = int(progress.get("page") or 1)
    if "new" not in progress:
        progress["new"] = page == 1 and not progress.get("done") and not ctx.has_links(read.crm_module)
    while True:
        job_id, done = progress.get("job"), int(progress.get("done") or 0)
        details = _job(ctx, job_id) if job_id else None
        if details is None or details.get("state") not in ("COMPLETED", "ADDED", "QUEUED", "IN PROGRESS"):
            lost = done
            details, done = _start(ctx, read, fields, page), 0
            # A new job's file holds again the records a lost one's applied rows had: those are linked.
            progress = {"job": details["id"], "page": page, "done": 0, "next": progress.get("next"),
                        "started": progress.get("started") or _created(details), "new": progress["new"] and not lost}
            state[BULK] = progress
            ctx.save_cursor(read.crm_module, state)
        details = _wait(ctx, progress["job"], details)
        more = bool((details.get("result") or {}).get("more_records"))
        if more and not progress.get("next"):
            _start_next(ctx, read, fields, state, progress)
        with fewer_collections():
            _apply_file(ctx, read, state, progress, fields, skip=done)
        if not more:
            break
        page += 1
        progress = {"job": progress.get("next"), "page": page, "started": progress["started"], "new": progress["new"]}
        state[BULK] = progress
    started = cursor.parse_time(progress["started"]) or timezone.now()
    state.pop(BULK, None)
    cursor.advance(state, cursor.MODIFIED, started - MARGIN, complete=False)
    ctx.save_cursor(read.crm_module, state)
    return started - MARGIN


def _start_next(ctx: RunContext, read: CrmModuleRead, fields: list[str], state: dict, progress: dict) -> None:
    """Start the next page's job, to be exported while this page's file is applied. Should the CRM refuse
    it now, it is asked for again when its turn comes."""
    try:
        progress["next"] = _start(ctx, read, fields, int(progress["page"]) + 1)["id"]
    except BulkReadUnavailable as error:
        log.warning("%s; asked for again after this page", error)
        return
    state[BULK] = dict(progress)
    ctx.save_cursor(read.crm_module, state)


def _created(details: dict) -> str:
    return cursor.iso(cursor.parse_time(details.get("created_time")) or timezone.now())


def _job(ctx: RunContext, job_id: str) -> dict | None:
    try:
        return ctx.client.bulk_read_job(job_id)
    except CrmError:
        return None  # gone (results are kept for a day): start a new job


def _start(ctx: RunContext, read: CrmModuleRead, fields: list[str], page: int) -> dict:
    try:
        return ctx.client.bulk_read_create(read.crm_module, fields=fields, cvid=read.view_id or None, page=page)
    except CrmError as error:
        raise BulkReadUnavailable(f"Zoho CRM did not start a Bulk Read job for {read.crm_module}: {error}") from error


def _wait(ctx: RunContext, job_id: str, details: dict) -> dict:
    """Poll the job until it is done; raise BulkReadUnavailable when it failed or took too long."""
    deadline = time.monotonic() + settings.CRM_BULK_READ_TIMEOUT_SECONDS
    polls = 0
    while details.get("state") != "COMPLETED":
        if details.get("state") == "FAILURE":
            raise BulkReadUnavailable(f"The Bulk Read job {job_id} failed in Zoho CRM.")
        if time.monotonic() > deadline:
            raise BulkReadUnavailable(f"The Bulk Read job {job_id} was not done after "
                                      f"{settings.CRM_BULK_READ_TIMEOUT_SECONDS} seconds.")
        time.sleep(POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)])
        polls += 1
        details = _job(ctx, job_id) or {"state": "FAILURE"}
        ctx.heartbeat()
    return details


def _apply_file(ctx: RunContext, read: CrmModuleRead, state: dict, progress: dict, fields: list[str], *,
                skip: int) -> None:
    """Download the job's zip and apply its rows, a transaction of rows at a time, the count of rows
    applied saved with each."""
    with tempfile.TemporaryFile(prefix="bulk-read-") as download:
        try:
            ctx.client.bulk_read_download(progress["job"], download)
        except CrmError as error:
            raise BulkReadUnavailable(f"The Bulk Read result of {read.crm_module} could not be downloaded: "
                                      f"{error}") from error
        download.seek(0)
        done = skip
        records = _records(download, read.crm_module, RowConverter(ctx.crm_fields(read.crm_module)))
        chunks = _chunks(records, ROWS_PER_TRANSACTION, skip=skip)
        writer = pipeline.PageWriter(ctx, read, new=progress["new"]) if pipeline.usable() else None
        try:
            for records in ReadAhead(chunks):
                done += len(records)
                progress["done"] = done
                state[BULK] = dict(progress)
                page_cursor = ctx.cursor_with(read.crm_module, dict(state))
                if writer is not None:
                    writer.apply(records, page_cursor)
                else:
                    apply_records(ctx, read, records, cursor=page_cursor)
                ctx.checkpoint()
        finally:
            if writer is not None:
                writer.close()


@contextlib.contextmanager
def fewer_collections():
    """While a file's records are applied, Python's cycle collector runs rarely, and not through what was
    alive before: a page's thousands of short-lived objects otherwise set off a collection every 700
    allocations, and a full one (through every object of the process) every few pages, a quarter of
    a large load's time. Records make little cyclic garbage; what they make is collected once the file
    is done. Loads in several threads of one process share it: the last one done restores Python's."""
    with _collections["lock"]:
        _collections["loads"] += 1
        if _collections["loads"] == 1:
            _collections["thresholds"] = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(YOUNG_OBJECTS, *_collections["thresholds"][1:])
    try:
        yield
    finally:
        with _collections["lock"]:
            _collections["loads"] -= 1
            if _collections["loads"] == 0:
                gc.set_threshold(*_collections["thresholds"])
                gc.unfreeze()


_collections = {"lock": threading.Lock(), "loads": 0, "thresholds": None}


class ReadAhead:
    """The chunks of a generator made in a thread, one ahead: the CSV is read and converted while the
    previous chunk is written (the thread's work fills the time the database takes). Its errors reach
    the caller; leaving early stops it."""

    _END = object()

    def __init__(self, chunks):
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(chunks,), daemon=True)
        self._thread.start()

    def _fill(self, chunks) -> None:
        try:
            for chunk in chunks:
                if not self._put(chunk):
                    return
            self._put(self._END)
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            self._put(error)

    def _put(self, item) -> bool:
        """Hand one item over, unless the caller has left (then False)."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        try:
            while True:
                item = self._queue.get()
                if item is self._END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()
            self._thread.join(timeout=5)


def _records(download, module: str, convert: RowConverter):
    """The CSV's rows as records, read from the zip one at a time."""
    try:
        archive = zipfile.ZipFile(download)
    except zipfile.BadZipFile as error:
        raise BulkReadUnavailable(f"The Bulk Read result of {module} is not a zip file.") from error
    with archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if len(names) != 1:
            raise BulkReadUnavailable(f"The Bulk Read result of {module} holds {len(names)} CSV files, not one.")
        with archive.open(names[0]) as member:
            rows = csv.reader(io.TextIOWrapper(member, encoding="utf-8-sig", newline=""))
            header = next(rows, None)
            if header is not None:
                yield from convert.rows(header, rows)


def _chunks(rows, size: int, *, skip: int):
    chunk = []
    for index, row in enumerate(rows):
        if index < skip:
            continue
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class RowConverter:
    """Bulk Read CSV rows -> the records Get Records gives: empty cells None, numbers and booleans typed,
    lookups and owners ("Owner" or "Owner.id" columns) as {"id": ...}, multi-select lists split. Each
    column's conversion is chosen once, from the header."""

    def __init__(self, crm_fields: list[dict]):
        self.types = {f.get("api_name"): f.get("data_type") or "" for f in crm_fields}

    def column(self, name: str):
        """(the record's key, the cell's conversion) of a header's column."""
        key = name[:-3] if name.endswith(".id") else name
        kind = self.types.get(key, "")
        if name.endswith(".id") or name in ("Owner", "Created_By", "Modified_By"):
            kind = "lookup"
        return key, _CONVERSIONS.get(kind, _text)

    def rows(self, header: list[str], rows):
        columns = [self.column(name) for name in header]
        keys, width = [key for key, _ in columns], len(columns)
        # Text cells are taken as they are (empty ones as None); the others are converted after, each key
        # by its last column, as a later column of the same key wins.
        last = {key: n for n, key in enumerate(keys)}
        typed = [(n, key, convert) for n, (key, convert) in enumerate(columns)
                 if convert is not _text and last[key] == n]
        for row in rows:
            if len(row) < width:
                row = row + [""] * (width - len(row))  # a short row: its last cells are empty
            # (a row longer than the header: its extra cells go)
            record = {key: text or None for key, text in zip(keys, row, strict=False)}
            for n, key, convert in typed:
                record[key] = convert(row[n])
            yield record


def _text(text: str):
    return text or None


def _lookup(text: str):
    return {"id": text} if text else None


def _boolean(text: str):
    return text.strip().lower() == "true" if text else None


def _numeric(parse):
    def convert(text: str):
        if not text:
            return None
        try:
            return parse(text)
        except ValueError:
            return text  # the mapping says why it is not a number

    return convert


_integer, _number = _numeric(int), _numeric(float)


def _multiselect(text: str):
    return [part for part in text.split(";") if part] if text else None


_CONVERSIONS = {
    **{kind: _lookup for kind in LOOKUP_TYPES}, "boolean": _boolean, "multiselectpicklist": _multiselect,
    **{kind: _integer for kind in INTEGER_TYPES}, **{kind: _number for kind in NUMBER_TYPES},
}
