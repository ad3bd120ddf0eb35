"""A run of one module config: claim the running slot, fetch (CRM → ERP), deletions, push (ERP → CRM),
finish. Entry points: `run_module(run_id=...)` for a queued SyncRun, `resync_link(link_id=...)` for one
record, `reclaim_stale_runs()` for runs whose worker died.

The running slot is the partial unique index "one running run per module": a queued run becomes
running with a conditional update, and a second one at the same moment fails on the index and is
skipped with the reason. A run whose heartbeat stopped (its worker was killed) is reclaimed after
STALE_AFTER; the next run replays at most the page that was in flight.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import random
import time
from contextlib import closing
from dataclasses import dataclass, field

from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from integration.crm.client import API, PAGE_SIZE, SEARCH_CEILING, CrmClient, CrmPaginationLimit
from integration.crm.errors import CrmAuthError, CrmError, CrmInvalidData, CrmNotFound
from integration.models import ConnectionStatus, CrmUser, FieldMapping, ModuleConfig
from integration.services import client_for, crm_users_map

from . import applier, planner
from .adapters import (
    CONTACT_PERSONS,
    CONTACTS,
    Adapter,
    Pass,
    adapters_for,
    erp_goes_first,
    linked_subquery,
    passes_for,
    pushes,
)
from .mapping import (
    FieldSpec,
    ensure_crm_field,
    model_field_name,
    read_erp,
    record_to_erp,
    specs_for,
    to_crm,
    write_erp,
)
from .models import IssueKind, RecordLink, RunStatus, SyncIssue, SyncRun, Trigger
from .planner import Incoming
from .services import module_config_for_link, refusal

log = logging.getLogger("sync")

STALE_AFTER = datetime.timedelta(minutes=10)  # no heartbeat for this long: the run's worker is gone
CHAIN_CEILING = 100_000  # a page_token chain ends at this record; start a new one before
PUSH_BATCH = 100
PUSH_WINDOW_MARGIN = datetime.timedelta(minutes=1)  # clocks of the app servers writing updated_at
ERP_ID_FIELD = "ERP_Id"
ERP_ID_DEFINITION = {"field_label": "ERP Id", "data_type": "text", "length": 60, "unique": {"casesensitive": "false"}}
ONE_SECOND = datetime.timedelta(seconds=1)
# A modification time this far behind the moment we read it can gain no more records (Zoho's clock and
# commits are well within it), so the next listing need not replay that second.
SETTLED_AFTER = datetime.timedelta(seconds=60)
# Search (a view's records past the page_token window are read by searching) sees records a few moments
# after they are saved; the windows stop this long before the run began, the next listing does the rest.
SEARCH_INDEX_DELAY = datetime.timedelta(minutes=2)
EARLIEST_RECORD = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
IN_PROGRESS_REASON = "A run of this module is in progress."
USERS_READ_EVERY = datetime.timedelta(days=1)
CLAIM_ATTEMPTS = 20
STATISTICS_AFTER = 5000  # rows added by a fetch after which the database's planner statistics are refreshed


class RunBusy(Exception):
    """The run is being worked on by a live worker (a duplicate delivery): try again later."""


class _Restart(Exception):
    """Start a new page_token chain from the last time seen."""


def parse_time(text) -> datetime.datetime | None:
    """A CRM date-time (with the org's offset, e.g. +05:30) as an aware instant; None when absent."""
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _latest_time(records: list[dict]) -> datetime.datetime | None:
    """The latest Modified_Time among these CRM records, if any has one."""
    return max((t for t in (parse_time(r.get("Modified_Time")) for r in records) if t), default=None)


def _iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="seconds")


def _since(state: dict, key: str) -> datetime.datetime | None:
    """If-Modified-Since for the next listing: the cursor minus one second, so that records saved in the
    cursor's second after we read it are not missed (replays are no-ops); the cursor itself when that
    second was long over when we read it."""
    cursor = parse_time(state.get(key))
    if cursor is None:
        return None
    return cursor if state.get(f"{key}_settled") else cursor - ONE_SECOND


def _advance(state: dict, key: str, value: datetime.datetime, *, complete: bool) -> None:
    """Move a cursor. Only a complete pass may call its second settled: in the middle of one, the next
    page can still hold records of the same second."""
    state[key] = _iso(value)
    state[f"{key}_settled"] = complete and value <= timezone.now() - SETTLED_AFTER


# --- the running slot ---------------------------------------------------------------------------------------


def reclaim_stale_runs(*, module_config: ModuleConfig | None = None, exclude: int | None = None) -> int:
    """Runs marked running whose heartbeat stopped more than STALE_AFTER ago: their worker is gone."""
    now = timezone.now()
    runs = SyncRun.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=now - STALE_AFTER) | Q(heartbeat_at__isnull=True, started_at__lt=now - STALE_AFTER))
    if module_config is not None:
        runs = runs.filter(module_config=module_config)
    if exclude is not None:
        runs = runs.exclude(pk=exclude)
    return runs.update(
        status=RunStatus.FAILED, finished_at=now,
        failure_reason=f"The worker stopped reporting progress for over {int(STALE_AFTER.total_seconds() // 60)} "
                       "minutes (it was stopped or crashed); the next run continues where it left off.",
    )


def _skip(run: SyncRun, reason: str) -> None:
    now = timezone.now()
    if SyncRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.SKIPPED, failure_reason=reason, finished_at=now):
        run.status, run.failure_reason, run.finished_at = RunStatus.SKIPPED, reason, now


def claim(run: SyncRun) -> bool:
    """Take the module's running slot for this run. False when the run is not to go on (it is finished,
    refused, or another run holds the slot: then it is marked skipped with the reason). Raises RunBusy
    for a run that is already running with a fresh heartbeat (a duplicate delivery of its task)."""
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            return _claim(run)
        except OperationalError:
            # SQLite answers "database table is locked" to the second of two writers at the same moment
            # instead of waiting; every step of a claim is conditional, so trying again is safe.
            if attempt == CLAIM_ATTEMPTS - 1 or db_connection.vendor != "sqlite":
                raise
            time.sleep(random.uniform(0.01, 0.05))
    return False


def _claim(run: SyncRun) -> bool:
    now = timezone.now()
    run.refresh_from_db()
    if run.status == RunStatus.RUNNING:
        beat = run.heartbeat_at or run.started_at
        if beat is not None and beat >= now - STALE_AFTER:
            raise RunBusy(f"run {run.pk} is running")
        # Our own run, redelivered after its worker died: take it over where it stopped.
        return bool(SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, heartbeat_at=run.heartbeat_at)
                    .update(heartbeat_at=now))
    if run.status != RunStatus.QUEUED or run.trigger == Trigger.METRICS:
        return False  # finished already, or not a sync (a metrics push records itself)
    config = ModuleConfig.objects.select_related("connection__organization").get(pk=run.module_config_id)
    if run.trigger == Trigger.RESYNC:
        # Pausing stops the module's scheduled and instant runs, not a person's request for one record.
        config.paused = False
    reason = refusal(config)
    if reason:
        _skip(run, reason)
        return False
    reclaim_stale_runs(module_config=config, exclude=run.pk)
    try:
        with transaction.atomic():
            claimed = SyncRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
                status=RunStatus.RUNNING, started_at=now, heartbeat_at=now)
    except IntegrityError:
        _skip(run, IN_PROGRESS_REASON)
        return False
    if claimed:  # (nothing that could fail after the claim committed: a retry would see the run as busy)
        run.status, run.started_at, run.heartbeat_at = RunStatus.RUNNING, now, now
    return bool(claimed)


def finish(run: SyncRun, *, client: CrmClient | None, base_calls: tuple[int, int], error: str = "") -> SyncRun:
    run.refresh_from_db()
    now = timezone.now()
    if error:
        status = RunStatus.FAILED
    else:
        status = RunStatus.PARTIAL if run.failed else RunStatus.SUCCEEDED
    run.status = status
    run.failure_reason = error[:5000]
    run.finished_at = now
    run.heartbeat_at = now
    if client is not None:
        run.api_calls = base_calls[0] + client.calls
        run.retries = base_calls[1] + client.retries
    if run.progress_total is not None and status == RunStatus.SUCCEEDED:
        run.progress_total = max(run.progress_total, run.progress_done)
    run.save(update_fields=["status", "failure_reason", "finished_at", "heartbeat_at", "api_calls", "retries",
                            "progress_total"])
    if run.trigger != Trigger.RESYNC:
        config = run.module_config
        ModuleConfig.objects.filter(pk=config.pk).update(
            next_run_at=now + datetime.timedelta(minutes=config.interval_minutes))
    return run


# --- entry points -------------------------------------------------------------------------------------------


def run_module(*, run_id: int, client: CrmClient | None = None) -> SyncRun | None:
    """Run a queued SyncRun to its end (or skip it, saying why). Raises RunBusy for a duplicate delivery."""
    run = SyncRun.objects.select_related("module_config__connection__organization").filter(pk=run_id).first()
    if run is None or not claim(run):
        return run
    return _execute(run, client=client, work=lambda engine: engine.sync())


def run_now(*, module_config: ModuleConfig, trigger: str = Trigger.INSTANT, client: CrmClient | None = None) -> SyncRun:
    """Queue and run a module sync in this process (commands, tests, benchmarks)."""
    run = SyncRun.objects.create(module_config=module_config, trigger=trigger, status=RunStatus.QUEUED)
    return run_module(run_id=run.pk, client=client)


def resync_link(*, link_id: int, client: CrmClient | None = None) -> SyncRun | None:
    """Fetch one linked CRM record and apply it, recorded as a run with trigger "resync"."""
    link = RecordLink.objects.select_related("connection").filter(pk=link_id).first()
    if link is None:
        return None
    config = module_config_for_link(link)
    if config is None:
        return None
    run = SyncRun.objects.create(module_config=config, trigger=Trigger.RESYNC, status=RunStatus.QUEUED,
                                 progress_total=1)
    if not claim(run):
        return run
    return _execute(run, client=client, work=lambda engine: engine.resync(link))


def _execute(run: SyncRun, *, client: CrmClient | None, work) -> SyncRun:
    run = SyncRun.objects.select_related("module_config__connection__organization").get(pk=run.pk)
    base = (run.api_calls, run.retries)
    try:
        client = client or client_for(run.module_config.connection)
        engine = Engine(run=run, client=client)
        work(engine)
    except CrmAuthError as error:
        # The client's callback has flagged the connection (needs re-authorization) already.
        return finish(run, client=client, base_calls=base, error=f"Zoho CRM refused the authorization: {error}")
    except CrmError as error:
        return finish(run, client=client, base_calls=base, error=f"The CRM could not be read or written: {error}")
    except Exception as error:  # noqa: BLE001 - any failure ends the run with its reason; the log has the trace
        log.exception("sync run %s failed", run.pk)
        return finish(run, client=client, base_calls=base, error=f"The sync stopped on an internal error: {error!r}")
    return finish(run, client=client, base_calls=base)


# --- the engine ---------------------------------------------------------------------------------------------


@dataclass
class Engine:
    run: SyncRun
    client: CrmClient
    _crm_fields: dict[str, list[dict]] = field(default_factory=dict)
    _specs: dict[str, list[FieldSpec]] = field(default_factory=dict)
    _unlinked: dict[str, bool] = field(default_factory=dict)
    _push_failed: int = 0
    _analyzed_at: int = 0  # rows added when the statistics were last refreshed
    _added: int = 0  # rows added by this run's fetch so far
    _owners: dict[str, int] | None = None
    _crm_owners: dict[int, str] | None = None

    @property
    def config(self) -> ModuleConfig:
        return self.run.module_config

    @property
    def connection(self):
        return self.config.connection

    def sync(self) -> None:
        """The whole run: (items two-way: push ERP changes first), fetch, deletions, push."""
        config = self.config
        passes = passes_for(config)
        self._read_users()
        if erp_goes_first(config):
            for adapter in adapters_for(config):
                self.push(adapter, new_records=False)
        for sync_pass in passes:
            self.fetch(sync_pass)
        if self._added > self._analyzed_at * 1.25:
            self._analyzed_at = 0  # the fetch is over: once more, for the steps that follow
            self._refresh_statistics(added=self._added)
        for sync_pass in passes:
            self.deletions(sync_pass)
        if pushes(config):
            started = timezone.now()
            for adapter in adapters_for(config):
                self.push(adapter, new_records=True)
            if not self._push_failed:
                # The next push looks only at records changed since this one began (see push()); after a
                # failure it looks as far back as before, so that the failed records are tried again.
                ModuleConfig.objects.filter(pk=config.pk).update(last_push_at=started)
                config.last_push_at = started

    def _read_users(self) -> None:
        """Once a day, read the CRM's users again and match them to members by email: sales people join
        the CRM and the ERP over the years, and their records' owners should follow."""
        read_at = self.connection.users_read_at
        if read_at is not None and read_at > timezone.now() - USERS_READ_EVERY:
            return
        try:
            users = self.client.users()
        except CrmAuthError:
            raise
        except CrmError as error:  # (no users scope, say): owners keep the last map; the sync goes on
            log.info("could not read the CRM's users: %s", error)
            return
        before = dict(CrmUser.objects.filter(connection=self.connection).values_list("crm_user_id", "erp_user_id"))
        crm_users_map(connection=self.connection, crm_users=users)
        self._owners = self._crm_owners = None
        joined = {crm: erp for crm, erp in self.owners().items() if before.get(crm) != erp}
        if joined:
            applier.adopt_owners(connection=self.connection, owners=joined)

    def _refresh_statistics(self, *, added: int) -> None:
        """While a fetch adds many rows (a first sync), keep PostgreSQL's planner statistics up with the
        tables' growth rather than wait for autovacuum (which may be slow, or off): with statistics that
        still say "empty", the planner scans whole indexes in the per-page lookups and nests loops in
        the queries that follow, and a sync slows down as it goes. Refreshed each time the rows added
        double, so a few times per run."""
        if added < max(STATISTICS_AFTER, self._analyzed_at * 2) or db_connection.vendor != "postgresql":
            return
        self._analyzed_at = added
        tables = {RecordLink._meta.db_table}
        for adapter in adapters_for(self.config):
            tables.add(adapter.model._meta.db_table)
        try:
            with db_connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {', '.join(sorted(tables))}")
        except DatabaseError as error:  # not the tables' owner: autovacuum will do it
            log.info("could not analyze %s: %s", tables, error)

    # --- mapping --------------------------------------------------------------------------------------------

    def crm_fields(self, module: str) -> list[dict]:
        if module not in self._crm_fields:
            self._crm_fields[module] = self.client.fields(module)
        return self._crm_fields[module]

    def specs(self, adapter: Adapter) -> list[FieldSpec]:
        if adapter.name not in self._specs:
            rows = list(FieldMapping.objects.filter(module_config=self.config, target=adapter.target,
                                                    crm_module=adapter.crm_module))
            two_way = pushes(self.config)
            needs_meta = not rows or (two_way and any(r.crm_data_type in ("picklist", "") for r in rows))
            meta = self.crm_fields(adapter.crm_module) if needs_meta else None
            self._specs[adapter.name] = specs_for(target=adapter.target, crm_module=adapter.crm_module,
                                                  organization=self.connection.organization, mappings=rows,
                                                  crm_fields=meta, two_way=two_way)
        return self._specs[adapter.name]

    def scope(self, adapter: Adapter) -> applier.Scope:
        def may_have_duplicates() -> bool:
            if adapter.name not in self._unlinked:
                self._unlinked[adapter.name] = adapter.queryset(self.connection.organization).exclude(
                    linked_subquery(connection=self.connection, adapter=adapter)).exists()
            return self._unlinked[adapter.name]

        return applier.Scope(run=self.run, config=self.config, adapter=adapter, specs=self.specs(adapter),
                             may_have_duplicates=may_have_duplicates, client=self.client, owners=self.owners())

    def owners(self) -> dict[str, int]:
        """CRM user id -> ERP user id: the users matched by email (on connecting, then daily)."""
        if self._owners is None:
            self._owners = dict(CrmUser.objects.filter(connection=self.connection, erp_user__isnull=False)
                                .values_list("crm_user_id", "erp_user_id"))
        return self._owners

    def crm_owner(self, obj) -> str | None:
        """The CRM user id of an ERP record's owner, when that user has a CRM account."""
        owner = getattr(obj, "owner_id", None)
        if owner is None:
            return None
        if self._crm_owners is None:
            self._crm_owners = {erp: crm for crm, erp in sorted(self.owners().items())}
        return self._crm_owners.get(owner)

    def fetch_fields(self, sync_pass: Pass) -> list[str]:
        names = ["id", "Modified_Time", "Owner"]
        if sync_pass.routes_by_account:
            names.append("Account_Name")
        for adapter in sync_pass.adapters:
            names += [spec.crm_field for spec in self.specs(adapter)]
        if self._state(sync_pass.crm_module).get("erp_id_field") == ERP_ID_FIELD:
            names.append(ERP_ID_FIELD)  # to recognise our own pushed records
        return list(dict.fromkeys(names))

    def to_incoming(self, adapter: Adapter, record: dict, parents: dict[str, int]) -> Incoming:
        values, errors = record_to_erp(self.specs(adapter), record)
        account = record.get("Account_Name") if adapter.has_parent else None
        account_id = str(account.get("id")) if isinstance(account, dict) and account.get("id") else None
        owner = record.get("Owner")
        return Incoming(
            erp_ref=self._erp_ref(adapter, record.get(ERP_ID_FIELD)),
            crm_id=str(record.get("id")), values=values, errors=errors, modified=parse_time(record.get("Modified_Time")),
            owner_id=str(owner.get("id")) if isinstance(owner, dict) and owner.get("id") else None,
            parent_crm_id=account_id, parent_erp_id=parents.get(account_id) if account_id else None,
        )

    def _erp_ref(self, adapter: Adapter, value) -> int | None:
        """The ERP id a CRM record carries when we pushed it: "<organization>-<model>-<pk>"."""
        parts = str(value or "").split("-")
        if len(parts) != 3 or parts[0] != str(self.connection.organization_id) or parts[1] != adapter.erp_model:
            return None
        return int(parts[2]) if parts[2].isdigit() else None

    # --- cursor ---------------------------------------------------------------------------------------------

    def _state(self, module: str) -> dict:
        return dict((self.config.crm_cursor or {}).get(module) or {})

    def _cursor_with(self, module: str, state: dict) -> dict:
        cursor = dict(self.config.crm_cursor or {})
        cursor[module] = state
        return cursor

    def _signature(self, sync_pass: Pass) -> str:
        """What the records fetched so far depend on: when it changes, the next pass starts over."""
        fields = sorted(set(self.fetch_fields(sync_pass)) - {ERP_ID_FIELD})
        parts = {"view": sync_pass.view_id, "fields": fields,
                 "adapters": [a.name for a in sync_pass.adapters]}
        if sync_pass.routes_by_account:
            parts["accounts_view"] = self.config.crm_view_id
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    # --- step 1: fetch --------------------------------------------------------------------------------------

    def fetch(self, sync_pass: Pass) -> None:
        module = sync_pass.crm_module
        state = self._state(module)
        signature = self._signature(sync_pass)
        if state.get("signature") != signature:
            state = {k: v for k, v in state.items() if k not in ("modified", "modified_settled", "signature")}
            state["signature"] = signature
        state.setdefault("deleted", _iso(self.run.started_at or timezone.now()))
        cursor = parse_time(state.get("modified"))
        if cursor is None:
            self._count(module, sync_pass.view_id)
        fields = self.fetch_fields(sync_pass)
        since = _since(state, "modified")
        if sync_pass.view_id:
            self._fetch_view(sync_pass, state, cursor, since, fields)
        else:
            self._fetch_sorted(sync_pass, state, cursor, since, fields)

    def _count(self, module: str, view_id: str) -> None:
        """The number of records a full pass will read, for the progress bar (one cheap call)."""
        try:
            total = self.client.count(module, cvid=view_id or None)
        except CrmInvalidData:
            return
        SyncRun.objects.filter(pk=self.run.pk).update(progress_total=(self.run.progress_total or 0) + total)
        self.run.progress_total = (self.run.progress_total or 0) + total

    def _fetch_sorted(self, sync_pass: Pass, state: dict, cursor, since, fields: list[str]) -> None:
        """Sorted by Modified_Time: the cursor advances with each committed page, and a chain that reaches
        the 100,000-record window starts again from the last time seen."""
        while True:
            in_chain = 0
            try:
                pages = self.client.read_ahead(self.client.iter_pages(
                    sync_pass.crm_module, fields=fields, sort_by="Modified_Time", sort_order="asc",
                    modified_since=since, window=CHAIN_CEILING))
                with closing(pages):
                    for page in pages:
                        latest = _latest_time(page.records)
                        if latest is not None:
                            cursor = max(cursor, latest) if cursor else latest
                            _advance(state, "modified", cursor, complete=False)
                        self.apply_records(sync_pass, page.records,
                                           cursor=self._cursor_with(sync_pass.crm_module, dict(state)))
                        in_chain += len(page.records)
                        if page.window_full:
                            raise _Restart
                if cursor is not None:
                    _advance(state, "modified", cursor, complete=True)
                    applier.record_progress(self.scope(sync_pass.adapters[0]), applier.Counts(),
                                            cursor=self._cursor_with(sync_pass.crm_module, state))
                return
            except (CrmPaginationLimit, _Restart):
                restart = cursor - ONE_SECOND if cursor else None
                if restart is None or (since is not None and restart <= since):
                    raise CrmError(
                        f"More than {CHAIN_CEILING} {sync_pass.crm_module} records share one modification time; "
                        "the CRM's paging cannot get past them.") from None
                log.info("%s: page_token window reached after %s records; restarting from %s",
                         sync_pass.crm_module, in_chain, restart)
                since = restart

    def _fetch_view(self, sync_pass: Pass, state: dict, cursor, since, fields: list[str]) -> None:
        """A custom view cannot be sorted: keep the pass-start cursor until the pass is complete (a crash
        replays the pass, harmlessly), then move it to the largest time seen. A view with more changed
        records than one page_token chain reaches is read again by searches in time windows."""
        largest = cursor
        try:
            pages = self.client.read_ahead(self.client.iter_pages(
                sync_pass.crm_module, fields=fields, cvid=sync_pass.view_id, modified_since=since,
                window=CHAIN_CEILING))
            with closing(pages):
                for page in pages:
                    latest = _latest_time(page.records)
                    if latest is not None:
                        largest = max(largest, latest) if largest else latest
                    self.apply_records(sync_pass, page.records,
                                       cursor=self._cursor_with(sync_pass.crm_module, dict(state)))
                    if page.window_full:
                        raise CrmPaginationLimit("page_token window reached")
        except CrmPaginationLimit:
            log.info("%s: the view has more changes than a page_token chain reaches; reading it by time windows",
                     sync_pass.crm_module)
            largest = self._fetch_view_windows(sync_pass, state, since, fields)
        if largest is not None:
            _advance(state, "modified", largest, complete=True)
        applier.record_progress(self.scope(sync_pass.adapters[0]), applier.Counts(),
                                cursor=self._cursor_with(sync_pass.crm_module, state))

    def _fetch_view_windows(self, sync_pass: Pass, state: dict, since, fields: list[str]) -> datetime.datetime:
        """Every record of the view modified since `since` (all of them on a first sync), read by searches
        within the view for `Modified_Time` between two instants: a window with more records than a search
        reaches is halved until each fits. Records changed in the last minutes before the run are left to
        the next run's listing (the CRM indexes them for search with a delay), so the pass ends with the
        cursor at the windows' end."""
        module, view = sync_pass.crm_module, sync_pass.view_id
        end = (self.run.started_at or timezone.now()).replace(microsecond=0) - SEARCH_INDEX_DELAY
        begin = (since or EARLIEST_RECORD).replace(microsecond=0)
        windows = [(begin, end)] if begin <= end else []
        while windows:
            low, high = windows.pop()
            criteria = f"(Modified_Time:between:{_iso(low)},{_iso(high)})"
            total = self.client.count(module, criteria=criteria, cvid=view)
            try:
                if total > SEARCH_CEILING:
                    raise CrmPaginationLimit("more than a search reaches")
                for page in self.client.iter_search_pages(module, criteria=criteria, cvid=view, fields=fields):
                    self.apply_records(sync_pass, page.records,
                                       cursor=self._cursor_with(module, dict(state)))
            except CrmPaginationLimit:
                if high - low < ONE_SECOND:
                    raise CrmError(
                        f"More than {SEARCH_CEILING} {module} records of the view share one modification time; "
                        "the CRM's search cannot get past them. Sync without a view once.") from None
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                windows += [(middle + ONE_SECOND, high), (low, middle)]  # the earlier half first
        return max(begin, end)

    def apply_records(self, sync_pass: Pass, records: list[dict], *, cursor: dict | None) -> applier.Counts:
        """One page: route, convert, load, plan and write, in one transaction with the cursor."""
        total = applier.Counts()
        with transaction.atomic():
            _relaxed_commit()
            groups: dict[str, tuple[Adapter, list[dict]]] = {a.name: (a, []) for a in sync_pass.adapters}
            parents: dict[str, int] = {}
            if sync_pass.routes_by_account:
                accounts = {str(r["Account_Name"]["id"]) for r in records
                            if isinstance(r.get("Account_Name"), dict) and r["Account_Name"].get("id")}
                parents = applier.parents_for(connection=self.connection, account_ids=accounts)
                for record in records:
                    account = record.get("Account_Name")
                    has_parent = isinstance(account, dict) and str(account.get("id")) in parents
                    target = CONTACT_PERSONS if has_parent or CONTACTS.name not in groups else CONTACTS
                    groups[target.name][1].append(record)
            else:
                groups[sync_pass.adapters[0].name][1].extend(records)
            for adapter, rows in groups.values():
                if not rows:
                    continue
                scope = self.scope(adapter)
                incoming = [self.to_incoming(adapter, record, parents) for record in rows]
                data, loaded = applier.load_page(scope, incoming)
                actions = planner.plan(data)
                total.add(applier.apply_page(scope, data, loaded, actions, progress=len(rows), report=False))
            applier.record_progress(self.scope(sync_pass.adapters[0]), total, cursor=cursor)
        self._added += total.added
        self._refresh_statistics(added=self._added)
        return total

    # --- step 2: deletions ----------------------------------------------------------------------------------

    def deletions(self, sync_pass: Pass) -> None:
        module = sync_pass.crm_module
        state = self._state(module)
        since = _since(state, "deleted")
        adapters = list(sync_pass.adapters)
        if sync_pass.routes_by_account and CONTACTS not in adapters:
            adapters.append(CONTACTS)  # orphans synced while they were included
        largest = parse_time(state.get("deleted"))
        batch: list[str] = []

        def flush(final: bool) -> None:
            cursor = None
            if final:
                if largest is not None:
                    _advance(state, "deleted", largest, complete=True)
                cursor = self._cursor_with(module, state)
            with transaction.atomic():
                for index, adapter in enumerate(adapters):
                    applier.plan_and_apply_deletions(self.scope(adapter), batch,
                                                     cursor=cursor if index == len(adapters) - 1 else None)
            batch.clear()

        for record in self.client.iter_deleted(module, since=since):
            batch.append(str(record.get("id")))
            deleted = parse_time(record.get("deleted_time"))
            if deleted and (largest is None or deleted > largest):
                largest = deleted
            if len(batch) >= PAGE_SIZE:
                flush(final=False)
        flush(final=True)

    # --- step 3: push ---------------------------------------------------------------------------------------

    def push(self, adapter: Adapter, *, new_records: bool) -> None:
        specs = self.specs(adapter)
        if not any(spec.two_way for spec in specs):
            return
        queryset = adapter.queryset(self.connection.organization)
        window = queryset
        if self.config.last_push_at is not None:
            # Only rows edited since the last complete push can hold news for the CRM: the updated_at
            # index keeps this cheap however many records are linked.
            window = queryset.filter(updated_at__gte=self.config.last_push_at - PUSH_WINDOW_MARGIN)
        changed = window.filter(Exists(RecordLink.objects.filter(
            connection=self.connection, erp_model=adapter.erp_model, erp_id=OuterRef("pk"),
            crm_deleted_at__isnull=True, last_synced_at__lt=OuterRef("updated_at"))))
        for chunk in _chunks(changed):
            self._push_changed(adapter, chunk)
        if not new_records:
            return
        # A contact person waits for its customer's link, which may come long after it was last edited.
        fresh = (queryset if adapter.has_parent else window).exclude(
            linked_subquery(connection=self.connection, adapter=adapter))
        # Left alone on purpose: a duplicate under the rule "Skip" stays out of the CRM too.
        fresh = fresh.exclude(Exists(SyncIssue.objects.filter(
            run__module_config=self.config, kind=IssueKind.SKIPPED, erp_model=adapter.erp_model, erp_id=OuterRef("pk"))))
        if hasattr(adapter.model, "is_active"):
            fresh = fresh.filter(is_active=True)
        if adapter.has_parent:
            fresh = fresh.filter(Exists(RecordLink.objects.filter(
                connection=self.connection, erp_model="customer", crm_module="Accounts",
                erp_id=OuterRef("customer_id"), crm_deleted_at__isnull=True)))
        for chunk in _chunks(fresh):
            self._push_new(adapter, chunk)

    def _crm_current(self, adapter: Adapter, crm_ids: list[str]) -> dict[str, dict]:
        """The CRM's current values of these records (the ERP goes first: conflicts need both sides)."""
        fields = ["id", *[spec.crm_field for spec in self.specs(adapter)]]
        body = self.client.get_json(f"{API}/{adapter.crm_module}",
                                    params={"ids": ",".join(crm_ids), "fields": ",".join(dict.fromkeys(fields))})
        return {str(r["id"]): r for r in (body or {}).get("data") or []}

    def _push_changed(self, adapter: Adapter, objects: list) -> None:
        specs = self.specs(adapter)
        scope = self.scope(adapter)
        links = {link.erp_id: link for link in RecordLink.objects.filter(
            connection=self.connection, erp_model=adapter.erp_model, erp_id__in=[o.pk for o in objects])}
        current = None
        if not adapter.crm_wins:
            current = self._crm_current(adapter, [links[o.pk].crm_id for o in objects if o.pk in links])
        actions, new_owners = [], {}
        for obj in objects:
            link = links.get(obj.pk)
            if link is None:
                continue
            crm = None
            if current is not None:
                record = current.get(link.crm_id)
                if record is None:
                    continue  # deleted in the CRM: the deletion step deals with it
                crm, _ = record_to_erp(specs, record)  # a value that does not convert: the ERP's stands
            erp = {spec.erp_field: read_erp(spec, obj) for spec in specs}
            action = planner.plan_push(specs, link=applier.link_state(link), erp=erp, crm=crm,
                                       crm_wins=adapter.crm_wins)
            action.crm_id = link.crm_id
            owner = self.crm_owner(obj)
            if owner is not None and owner != (link.synced_snapshot or {}).get(planner.OWNER_KEY):
                new_owners[id(action)] = owner  # given another owner here, who is a CRM user too
            actions.append((obj, link, action))
        by_name = scope.by_name
        outgoing = [(obj, link, action) for obj, link, action in actions if action.push or id(action) in new_owners]
        records = [{"id": link.crm_id, **{by_name[n].crm_field: to_crm(by_name[n], v) for n, v in action.push.items()},
                    **({"Owner": {"id": new_owners[id(action)]}} if id(action) in new_owners else {})}
                   for _, link, action in outgoing]
        results = self.client.update(adapter.crm_module, records) if records else []
        outcome = {id(action): result for (_, _, action), result in zip(outgoing, results, strict=True)}
        now = timezone.now()
        counts = applier.Counts(done=len(actions))
        issues, written, columns, synced = [], [], {"updated_at"}, []
        for obj, link, action in actions:
            result = outcome.get(id(action))
            if result is not None and not result.ok:
                counts.failed += 1
                self._push_failed += 1
                issues.append(self._push_issue(scope, obj, link.crm_id, result))
                continue
            for issue in action.issues:
                counts.conflicts += issue.kind == "conflict"
                issues.append(applier._issue(scope, action, issue))
            if action.erp_changes:  # the CRM's side of a merge (the ERP went first)
                for name, value in action.erp_changes.items():
                    write_erp(by_name[name], obj, value)
                    columns.add(model_field_name(by_name[name]))
                adapter.derive(obj)
                obj.updated_at = now  # not auto_now's later instant: the link's sync time covers it
                written.append(obj)
            link.synced_snapshot = planner.pushed_snapshot(specs, action.snapshot, action.push)
            if result is not None and id(action) in new_owners:
                link.synced_snapshot[planner.OWNER_KEY] = new_owners[id(action)]
            link.last_synced_at = now
            if result is not None:
                counts.pushed += 1
                link.crm_modified_time = parse_time(result.details.get("Modified_Time")) or link.crm_modified_time
            synced.append(link)
        if adapter.customer_type == "individual":
            columns.add("display_name")
        counts.updated += len(written)
        with transaction.atomic():
            if written:
                applier.update_rows(adapter.model, written, sorted(columns))
            applier.update_rows(RecordLink, synced, ["synced_snapshot", "last_synced_at", "crm_modified_time"])
            SyncIssue.objects.bulk_create(issues)
            applier.record_progress(scope, counts, cursor=None, now=now)

    def _push_issue(self, scope, obj, crm_id: str, result) -> SyncIssue:
        field_name = str((result.details or {}).get("api_name") or "")
        return SyncIssue(run=self.run, kind=IssueKind.ERROR, crm_module=scope.adapter.crm_module, crm_id=crm_id or "",
                         erp_model=scope.adapter.erp_model, erp_id=obj.pk, field=field_name[:100],
                         message=f"The CRM refused the record: {result.code} {result.message}"
                                 f"{f' ({field_name})' if field_name else ''}.")

    def _ensure_erp_id_field(self, module: str) -> None:
        """The unique CRM field that carries each pushed record's ERP id, created once per CRM module."""
        state = self._state(module)
        if state.get("erp_id_field") == ERP_ID_FIELD:
            return
        ensure_crm_field(self.client, module, ERP_ID_FIELD, ERP_ID_DEFINITION, fields=self.crm_fields(module))
        state["erp_id_field"] = ERP_ID_FIELD
        cursor = self._cursor_with(module, state)
        ModuleConfig.objects.filter(pk=self.config.pk).update(crm_cursor=cursor)
        self.config.crm_cursor = cursor

    def _push_new(self, adapter: Adapter, objects: list) -> None:
        """ERP records the CRM has never seen, upserted by their ERP id: a replay after a crash updates the
        record the first attempt created instead of adding a second one."""
        self._ensure_erp_id_field(adapter.crm_module)
        specs = self.specs(adapter)
        scope = self.scope(adapter)
        accounts = {}
        if adapter.has_parent:
            accounts = dict(RecordLink.objects.filter(
                connection=self.connection, erp_model="customer", crm_module="Accounts",
                erp_id__in=[o.customer_id for o in objects]).values_list("erp_id", "crm_id"))
        records, values = [], []
        for obj in objects:
            erp = {spec.erp_field: read_erp(spec, obj) for spec in specs}
            record = {spec.crm_field: to_crm(spec, erp[spec.erp_field]) for spec in specs}
            record = {k: v for k, v in record.items() if v is not None}
            adapter.complete_for_crm(obj, record)
            record[ERP_ID_FIELD] = adapter.erp_id_value(obj, organization_id=self.connection.organization_id)
            owner = self.crm_owner(obj)
            if owner is not None:
                record["Owner"] = {"id": owner}
            if adapter.has_parent:
                record["Account_Name"] = {"id": accounts[obj.customer_id]}
            records.append(record)
            values.append(erp)
        results = self.client.upsert(adapter.crm_module, records, duplicate_check_fields=[ERP_ID_FIELD])
        now = timezone.now()
        counts = applier.Counts(done=len(objects))
        issues, links = [], []
        for obj, erp, result in zip(objects, values, results, strict=True):
            if not result.ok:
                counts.failed += 1
                self._push_failed += 1
                issues.append(self._push_issue(scope, obj, "", result))
                continue
            counts.pushed += 1
            snapshot = planner.pushed_snapshot(specs, {}, erp)
            # The owner sent, else the CRM's default one (the API user who created the record): what the
            # next fetch will read back, so that it is not taken for a change made in the CRM.
            created_by = result.details.get("Created_By")
            snapshot[planner.OWNER_KEY] = self.crm_owner(obj) or (
                str(created_by["id"]) if isinstance(created_by, dict) and created_by.get("id") else None)
            if adapter.has_parent:
                snapshot[planner.PARENT_KEY] = accounts[obj.customer_id]
            links.append(RecordLink(
                connection=self.connection, crm_module=adapter.crm_module, crm_id=str(result.id),
                erp_model=adapter.erp_model, erp_id=obj.pk, origin="erp", synced_snapshot=snapshot,
                crm_modified_time=parse_time(result.details.get("Modified_Time")), last_synced_at=now))
        with transaction.atomic():
            # A replayed push finds the link the first attempt wrote (same CRM id): keep that one.
            known = set(RecordLink.objects.filter(connection=self.connection, crm_module=adapter.crm_module,
                                                  crm_id__in=[link.crm_id for link in links])
                        .values_list("crm_id", flat=True))
            RecordLink.objects.bulk_create([link for link in links if link.crm_id not in known])
            applier.mark_linked(adapter.model, [link.erp_id for link in links], True)
            SyncIssue.objects.bulk_create(issues)
            applier.record_progress(scope, counts, cursor=None, now=now)

    # --- one record -----------------------------------------------------------------------------------------

    def resync(self, link: RecordLink) -> None:
        sync_pass = next(p for p in passes_for(self.config) if p.crm_module == link.crm_module)
        try:
            record = self.client.get_record(link.crm_module, link.crm_id, fields=self.fetch_fields(sync_pass))
        except CrmNotFound:
            with transaction.atomic():
                for adapter in sync_pass.adapters:
                    applier.plan_and_apply_deletions(self.scope(adapter), [link.crm_id], cursor=None)
            return
        self.apply_records(sync_pass, [record], cursor=None)


def _relaxed_commit() -> None:
    """A page's commit need not wait for the disk: should the database server itself crash, it loses the
    last pages together with the cursor that counted them, and the next run replays them harmlessly."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _chunks(queryset, size: int = PUSH_BATCH):
    """Rows in primary-key order, `size` at a time, without holding them all (keyset paging)."""
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def due_configs(*, now=None):
    now = now or timezone.now()
    return (ModuleConfig.objects.select_related("connection")
            .filter(configured=True, paused=False, connection__status=ConnectionStatus.ACTIVE)
            .filter(Q(next_run_at__lte=now) | Q(next_run_at__isnull=True)))
