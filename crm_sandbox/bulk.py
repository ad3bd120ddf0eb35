"""Bulk Read, as Zoho's `/crm/bulk/{version}/read` has it: jobs that export a module's records into one
zipped CSV in the background.

A job is checked when it is created (ADDED). A thread of its own then takes it through QUEUED (waiting for
the one export slot) and IN PROGRESS (the export) to COMPLETED or FAILURE, never sooner than `bulk_job_ms`
after its creation. The export is one query on a connection of its own, so it sees the records as they
were when it began while writes go on, and it streams them row by row into the CSV member of a zip file:
a million records are never held in memory at once. Which jobs fail (`bulk_fail_rate`) is decided when
they are created. A job's end is POSTed to its callback URL, if it has one, from yet another thread.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import zipfile
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from . import criteria
from .errors import ApiError
from .schema import CURRENT_USER, MODULES, layouts
from .times import format_time

PER_PAGE = 200000  # records per job (the `bulk_per_page` setting); `query.page` 2 reads the next 200,000
MAX_DOWNLOADS = 10  # result downloads per rolling minute, for the whole sandbox
CALLBACK_TIMEOUT = 10
_FETCH = 2000  # rows taken from SQLite at a time


@dataclass
class Job:
    id: str
    module: str
    columns: list[str]
    where: str
    params: list
    page: int
    query: dict  # as the status shows it
    callback_url: str | None
    created_time: str
    due: float  # time.monotonic() before which the job does not end
    fails: bool
    version: int
    per_page: int = PER_PAGE
    state: str = "ADDED"
    result: dict | None = None
    path: str | None = None  # the result file, once exported

    def details(self) -> dict:
        return {"id": self.id, "operation": "read", "state": self.state, "query": self.query,
                "created_by": {"id": CURRENT_USER["id"], "name": CURRENT_USER["full_name"]},
                "created_time": self.created_time, "file_type": "csv", "result": self.result}


def results_folder(data_path: str) -> str:
    """Where result files go: beside the data file (`var/crm-sandbox.bulk-read/`)."""
    if data_path == ":memory:":
        return tempfile.mkdtemp(prefix="crm-sandbox-bulk-read-")
    return os.path.splitext(data_path)[0] + ".bulk-read"


class BulkReads:
    """This run's jobs, their result files and the download allowance; reset() forgets them all."""

    def __init__(self, sandbox, folder: str):
        self.sandbox = sandbox
        self.folder = folder
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.downloads: deque[float] = deque()  # time.monotonic() of the downloads of the last minute
        self._export_slot = threading.Lock()
        os.makedirs(folder, exist_ok=True)
        self._remove_files()

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.downloads.clear()
        self._remove_files()

    def _remove_files(self) -> None:
        # Jobs do not outlive the process or a reset, so neither do their files.
        for name in os.listdir(self.folder):
            if name.endswith(".zip"):
                _remove(os.path.join(self.folder, name))

    # --- the API ----------------------------------------------------------------------------------------

    def create(self, body: dict, version: int) -> dict:
        """A new job from a create request's body; its details as they are at creation (ADDED)."""
        spec = parse_request(self.sandbox, body)
        sandbox = self.sandbox
        with sandbox.lock:
            rate = sandbox.config["bulk_fail_rate"]
            fails = bool(rate) and sandbox.rng.random() < rate
            delay = sandbox.config["bulk_job_ms"] / 1000
            per_page = sandbox.config["bulk_per_page"]
        with sandbox.store.transaction() as conn:
            job_id = str(sandbox.store.allocate_ids(conn, 1))
        job = Job(id=job_id, **spec, created_time=format_time(sandbox.now(), sandbox.offset),
                  due=time.monotonic() + delay, fails=fails, version=version, per_page=per_page)
        with self.lock:
            self.jobs[job_id] = job
            details = job.details()
        threading.Thread(target=self._run, args=(job,), name=f"crm-sandbox-bulk-read-{job_id}", daemon=True).start()
        return details

    def details(self, job_id: str) -> dict:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise _unknown_job(job_id)
            return job.details()

    def open_result(self, job_id: str):
        """The zip file of a completed job, open for reading. Every call counts towards the download
        allowance, whatever it answers; one refused with 429 does not."""
        now = time.monotonic()
        with self.lock:
            while self.downloads and self.downloads[0] <= now - 60:
                self.downloads.popleft()
            if len(self.downloads) >= MAX_DOWNLOADS:
                raise ApiError(429, "TOO_MANY_REQUESTS",
                               f"at most {MAX_DOWNLOADS} Bulk Read results can be downloaded per minute")
            self.downloads.append(now)
            job = self.jobs.get(job_id)
            if job is None:
                raise _unknown_job(job_id)
            if job.state != "COMPLETED":
                message = "the job failed: it has no result" if job.state == "FAILURE" else \
                    "the job has not completed yet: its result is not ready"
                raise ApiError(404, "RESOURCE_NOT_FOUND", message,
                               {"resource": "result", "id": job_id, "state": job.state})
            try:
                return open(job.path, "rb")
            except FileNotFoundError:
                raise _unknown_job(job_id) from None

    # --- the job's thread -------------------------------------------------------------------------------

    def _run(self, job: Job) -> None:
        result = None
        try:
            if not self._advance(job, "QUEUED"):
                return
            with self._export_slot:
                if not self._advance(job, "IN PROGRESS"):
                    return
                if not job.fails:
                    result = self._export(job)
            time.sleep(max(0.0, job.due - time.monotonic()))
        except Exception:
            if not self._is_current(job):
                return  # reset while it ran (its file may have gone): nothing to report
            traceback.print_exc(file=sys.stderr)
            result = None
        details = self._finish(job, result)
        if details is not None and job.callback_url:
            threading.Thread(target=post_callback, args=(job.callback_url, details),
                             name=f"crm-sandbox-bulk-read-callback-{job.id}", daemon=True).start()

    def _is_current(self, job: Job) -> bool:
        return self.jobs.get(job.id) is job

    def _advance(self, job: Job, state: str) -> bool:
        with self.lock:
            if not self._is_current(job):
                return False
            job.state = state
            return True

    def _finish(self, job: Job, result: dict | None) -> dict | None:
        """COMPLETED with its result, or FAILURE; the callback's body, or None when the job was reset away."""
        with self.lock:
            if not self._is_current(job):
                if job.path:
                    _remove(job.path)
                return None
            job.state = "FAILURE" if result is None else "COMPLETED"
            job.result = result
            return {**job.details(), "job_id": job.id}

    def _export(self, job: Job) -> dict:
        sandbox = self.sandbox
        extra, cells = _row_plan(job.columns, sandbox.field_map(job.module), job.module, sandbox.offset)
        sql = (f"SELECT id, created_time, modified_time, data{''.join(', ' + e for e in extra)} FROM records "
               f"WHERE {job.where} ORDER BY id LIMIT ? OFFSET ?")
        # A name of its own: after a reset a new job may get the same id while this one still runs.
        job.path = os.path.join(self.folder, f"{job.id}-{secrets.token_hex(4)}.zip")
        count, more = 0, False
        with sandbox.store.reader() as conn, \
                zipfile.ZipFile(job.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive, \
                io.TextIOWrapper(archive.open(f"{job.id}.csv", "w", force_zip64=True), encoding="utf-8",
                                 newline="") as text:
            writer = csv.writer(text)
            writer.writerow(job.columns)
            per_page = job.per_page
            cursor = conn.execute(sql, (*job.params, per_page + 1, (job.page - 1) * per_page))
            while rows := cursor.fetchmany(_FETCH):
                for row in rows:
                    if count == per_page:
                        more = True
                        break
                    data = json.loads(row[3])
                    writer.writerow([cell(row, data) for cell in cells])
                    count += 1
        return {"page": job.page, "per_page": per_page, "count": count, "more_records": more,
                "next_page_token": None, "download_url": f"/crm/bulk/v{job.version}/read/{job.id}/result"}


def _unknown_job(job_id: str) -> ApiError:
    return ApiError(404, "RESOURCE_NOT_FOUND", "the bulk read job does not exist", {"resource": "job", "id": job_id})


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def post_callback(url: str, body: dict) -> None:
    """POST a finished job's details to its callback URL; a failure is logged, never retried."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT) as response:
            response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"crm sandbox: the callback of bulk read job {body['id']} failed: {error}", file=sys.stderr, flush=True)


# --- the CSV ----------------------------------------------------------------------------------------------

def _row_plan(columns: list[str], fields: dict[str, dict], module: str, offset: int):
    """(extra SELECT expressions, one function (row, data) -> cell per column) for an export.

    Cells: text as stored, numbers as plain decimals, booleans true/false, date-times in the org's offset,
    lookups and users as the id alone, multi-select values joined with `;`, nothing as an empty cell.
    """
    extra, cells = [], []
    default_layout = layouts(module)[0]["id"]
    for name in columns:
        data_type = (fields.get(name) or {}).get("data_type")
        if name == "id":
            cells.append(lambda row, data: row[0])
        elif name in ("Created_Time", "Modified_Time"):
            index = 1 if name == "Created_Time" else 2
            cells.append(lambda row, data, index=index: format_time(row[index], offset))
        elif name == "Layout":
            cells.append(lambda row, data: data.get("Layout") or default_layout)
        elif data_type == "lookup":
            # A lookup to a record deleted since is empty, as the API shows it null.
            extra.append(f"(SELECT target.id FROM records AS target "
                         f"WHERE target.id = CAST(json_extract(records.data, '$.{name}') AS INTEGER))")
            index = 3 + len(extra)
            cells.append(lambda row, data, index=index: row[index])
        else:
            convert = _converter(data_type, offset)
            if convert is None:
                cells.append(lambda row, data, name=name: data.get(name))
            else:
                cells.append(lambda row, data, name=name, convert=convert: convert(data.get(name)))
    return extra, cells


def _converter(data_type: str | None, offset: int):
    if data_type == "boolean":
        return _flag
    if data_type == "datetime":
        return lambda value: None if value is None else format_time(value, offset)
    if data_type in ("double", "currency", "percent"):
        return _decimal
    if data_type == "multiselectpicklist":
        return lambda value: ";".join(map(str, value)) if isinstance(value, list) else value
    return None


def _flag(value):
    return ("true" if value else "false") if isinstance(value, bool) else value


def _decimal(value):
    if not isinstance(value, float):
        return value
    text = repr(value)
    return format(Decimal(text), "f") if "e" in text else text


# --- the request ------------------------------------------------------------------------------------------

def _mandatory(name: str, path: str) -> ApiError:
    return ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": name, "json_path": path})


def _invalid(name: str, path: str, message: str = "invalid data") -> ApiError:
    return ApiError(400, "INVALID_DATA", message, {"api_name": name, "json_path": path})


def parse_request(sandbox, body: dict) -> dict:
    """A create request's body -> the job's module, columns, filter, page, shown query and callback URL."""
    query = body.get("query")
    if query is None:
        raise _mandatory("query", "$.query")
    if not isinstance(query, dict):
        raise _invalid("query", "$.query")
    module = query.get("module")
    name = module.get("api_name") if isinstance(module, dict) else None
    if name is None:
        raise _mandatory("module", "$.query.module")
    if name not in MODULES:
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                       {"api_name": "module", "json_path": "$.query.module.api_name"})
    fields = sandbox.field_map(name)
    shown = {"module": {"api_name": name, "id": MODULES[name]["id"]}}
    where, params = ["module = ?"], [name]
    if query.get("cvid") is not None:
        cvid = query["cvid"]
        if isinstance(cvid, bool) or not isinstance(cvid, str | int):
            raise _invalid("cvid", "$.query.cvid")
        try:
            sql, view_params = criteria.view_filter(name, str(cvid), fields)
        except ApiError:
            raise _invalid("cvid", "$.query.cvid", "the given custom view id seems to be invalid") from None
        where.append(f"({sql})")
        params.extend(view_params)
        shown["cvid"] = str(cvid)
    if query.get("criteria") is not None:
        sql, criteria_params = criteria.from_json(query["criteria"], fields)
        where.append(f"({sql})")
        params.extend(criteria_params)
        shown["criteria"] = query["criteria"]
    columns = _columns(query.get("fields"), fields)
    if query.get("fields"):
        shown["fields"] = query["fields"]
    shown["page"] = _page(query)
    _check_file_type(body.get("file_type"))
    return {"module": name, "columns": columns, "where": " AND ".join(where), "params": params,
            "page": shown["page"], "query": shown, "callback_url": _callback_url(body.get("callback"))}


def _columns(requested, fields: dict[str, dict]) -> list[str]:
    """The CSV's header: `id`, then the fields asked for (all of the module's when none are)."""
    if requested is None or requested == []:
        return ["id", *(name for name in fields if name != "id")]
    if not isinstance(requested, list) or not all(isinstance(name, str) for name in requested):
        raise _invalid("fields", "$.query.fields", "fields is a list of field API names")
    unknown = [(index, name) for index, name in enumerate(requested)
               if name not in fields and name not in ("id", "Layout")]
    if unknown:
        index, name = unknown[0]
        raise _invalid(name, f"$.query.fields[{index}]",
                       f"not fields of the module: {', '.join(name for _, name in unknown)}")
    return ["id", *dict.fromkeys(name for name in requested if name != "id")]


def _page(query: dict) -> int:
    if query.get("page_token") is not None:
        raise _invalid("page_token", "$.query.page_token", "the sandbox pages Bulk Read jobs with page only")
    page = query.get("page")
    if page is None:
        return 1
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= 10**6:
        raise _invalid("page", "$.query.page", "page is a whole number from 1")
    return page


def _check_file_type(file_type) -> None:
    if file_type is None or file_type == "csv":
        return
    message = "ics is for the Events module only" if file_type == "ics" else "file_type is csv"
    raise _invalid("file_type", "$.file_type", message)


def _callback_url(callback) -> str | None:
    if callback is None:
        return None
    if not isinstance(callback, dict):
        raise _invalid("callback", "$.callback")
    for key in ("url", "method"):
        if key not in callback:
            raise _mandatory(key, f"$.callback.{key}")
    url = callback["url"]
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid("url", "$.callback.url", "the callback url is an http or https URL")
    if not isinstance(callback["method"], str) or callback["method"].lower() != "post":
        raise _invalid("method", "$.callback.method", "the callback method is post")
    return url
