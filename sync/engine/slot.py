"""The running slot: one run at a time per module configuration.

The slot is the partial unique index "one running run per module": a queued run becomes running with a
conditional update, and a second one at the same moment fails on the index and is skipped with the
reason. `finish` ends a run with its status and schedules the module's next one.

A run's slot is tied to the life of the process that holds it. On PostgreSQL the process also holds a
session-level advisory lock for the module, on a database connection of its own: the server releases it
the moment that process dies (SIGKILL, a lost machine), so the next run knows at once that a run marked
running has nobody behind it and takes over, replaying at most the page that was in flight. Everywhere,
a run's heartbeat is written with each page's counters (`progress.record_progress`), and a run whose
heartbeat stopped for STALE_AFTER is reclaimed: the fallback on SQLite, and for a process that hangs.
"""

from __future__ import annotations

import datetime
import logging
import random
import time

from django.db import IntegrityError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import Q
from django.utils import timezone

from integration.crm.client import CrmClient
from integration.models import ModuleConfig

from .. import alerts, credits, telemetry
from ..models import EVENT_TRIGGERS, Decision, DuplicateSuggestion, RunStatus, SyncRun, Trigger
from . import open_issues

log = logging.getLogger("sync")

STALE_AFTER = datetime.timedelta(minutes=10)  # no heartbeat for this long: the run's worker is gone
IN_PROGRESS_REASON = "A run of this module is in progress."
CLAIM_ATTEMPTS = 20
LOCK_NAMESPACE = 0x5E4C  # the first key of our advisory locks; the second is the module configuration's id
DEAD_REASON = ("The process running this sync stopped (it was killed or its machine went away); the next run "
               "continues where it left off.")
INTERRUPTED_REASON = "Interrupted by the person running it; the next run continues where it left off."

# Advisory locks held by this process, per run: the connection each lives on.
_locks: dict[int, object] = {}


def _take_lock(config_id: int):
    """A connection holding the module's advisory lock, or None when another live process holds it. Not on
    SQLite (returns False): there the heartbeat alone tells."""
    if db_connection.vendor != "postgresql":
        return False
    import psycopg

    lock = psycopg.connect(**db_connection.get_connection_params(), autocommit=True)
    if lock.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, config_id)).fetchone()[0]:
        return lock
    lock.close()
    return None


def release(run_id: int) -> None:
    """Let go of a run's advisory lock (its run is over, or was never claimed)."""
    lock = _locks.pop(run_id, None)
    if lock is not None:
        lock.close()


def reclaim_dead_runs(*, module_config: ModuleConfig) -> int:
    """Runs of the module marked running whose process is gone (nobody holds the module's lock): they end
    as failed at once, so that the next sync starts now rather than after STALE_AFTER."""
    if db_connection.vendor != "postgresql" or not SyncRun.objects.filter(
            module_config=module_config, status=RunStatus.RUNNING).exclude(pk__in=list(_locks)).exists():
        return 0
    lock = _take_lock(module_config.pk)
    if lock is None:
        return 0  # a live process holds it
    try:
        return SyncRun.objects.filter(module_config=module_config, status=RunStatus.RUNNING).exclude(
            pk__in=list(_locks)).update(status=RunStatus.FAILED, finished_at=timezone.now(), failure_reason=DEAD_REASON)
    finally:
        lock.close()


class RunBusy(Exception):
    """The run is being worked on by a live worker (a duplicate delivery): try again later."""


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
    release(run.pk)  # (a claim tried again after a locked SQLite table)
    run.refresh_from_db()
    if run.status == RunStatus.RUNNING:
        return _take_over(run)
    if run.status != RunStatus.QUEUED or run.trigger == Trigger.METRICS:
        return False  # finished already, or not a sync (a metrics push records itself)
    lock = _take_lock(run.module_config_id)
    try:
        claimed = _claim_queued(run, lock)
    except BaseException:
        if lock:
            lock.close()
        raise
    if claimed and lock:
        _locks[run.pk] = lock
    elif lock:
        lock.close()
    return claimed


def _take_over(run: SyncRun) -> bool:
    """Our own run, delivered again: take it over where it stopped if the process that had it is gone (its
    lock is free, or its heartbeat stale); else it is at work (RunBusy)."""
    now = timezone.now()
    lock = _take_lock(run.module_config_id)
    beat = run.heartbeat_at or run.started_at
    if lock is None or (lock is False and beat is not None and beat >= now - STALE_AFTER):
        raise RunBusy(f"run {run.pk} is running")
    taken = SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, heartbeat_at=run.heartbeat_at).update(
        heartbeat_at=now)
    if taken and lock:
        _locks[run.pk] = lock
    elif lock:
        lock.close()
    return bool(taken)


def _claim_queued(run: SyncRun, lock) -> bool:
    now = timezone.now()
    config = ModuleConfig.objects.select_related("connection__organization").get(pk=run.module_config_id)
    if run.trigger in (Trigger.RESYNC, Trigger.RETRY, Trigger.APPROVAL):
        # Pausing stops the module's scheduled and instant runs, not a person's request about some records.
        config.paused = False
    reason = credits.run_refusal(config)
    if reason:
        _skip(run, reason)
        return False
    if lock:
        # Holding the module's lock, this process is the only one alive working on the module: a run
        # still marked running is a dead one.
        SyncRun.objects.filter(module_config=config, status=RunStatus.RUNNING).exclude(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=now, failure_reason=DEAD_REASON)
    elif lock is None and SyncRun.objects.filter(module_config=config, status=RunStatus.RUNNING,
                                                 heartbeat_at__gte=now - STALE_AFTER).exists():
        _skip(run, IN_PROGRESS_REASON)  # another live process is at work on the module
        return False
    reclaim_stale_runs(module_config=config, exclude=run.pk)
    try:
        with transaction.atomic():
            # A run that gave its place back keeps its start.
            claimed = SyncRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
                status=RunStatus.RUNNING, started_at=run.started_at or now, heartbeat_at=now)
    except IntegrityError:
        _skip(run, IN_PROGRESS_REASON)
        return False
    if claimed:  # (nothing that could fail after the claim committed: a retry would see the run as busy)
        run.status, run.started_at, run.heartbeat_at = RunStatus.RUNNING, run.started_at or now, now
        if not run.slices:
            telemetry.run_started(run)
    return bool(claimed)


def finish(run: SyncRun, *, client: CrmClient | None, base_calls: tuple[int, int, int] = (0, 0, 0),
           error: str = "", stopped: bool = False) -> SyncRun:
    """End a run: its status (failed with `error`, stopped at the credit budget, partial when records
    failed, else succeeded), its API calls and credits, and the module's next scheduled run."""
    run.refresh_from_db()
    now = timezone.now()
    if stopped:
        status = RunStatus.STOPPED
    elif error:
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
        run.credits = base_calls[2] + client.credits
        credits.note_remaining(run.module_config.connection, client.credits_remaining)
    if run.progress_total is not None and status == RunStatus.SUCCEEDED:
        run.progress_total = max(run.progress_total, run.progress_done)
    run.save(update_fields=["status", "failure_reason", "finished_at", "heartbeat_at", "api_calls", "retries",
                            "credits", "progress_total"])
    release(run.pk)
    telemetry.run_finished(run)
    if run.trigger not in (Trigger.RESYNC, Trigger.RETRY, Trigger.APPROVAL, *EVENT_TRIGGERS):  # only a full run moves the schedule
        config = run.module_config
        config.schedule_next(after=now)
        ModuleConfig.objects.filter(pk=config.pk).update(next_run_at=config.next_run_at)
    _follow_up(run)
    return run


def give_back(run: SyncRun, *, client: CrmClient | None, base_calls: tuple[int, int, int], wait: float = 0) -> SyncRun:
    """A long run's slice is over, or the CRM asked it to wait: queued again as it is (counts, cursor and
    start kept), its worker free for other runs; the caller sends it again `run.retry_in` seconds on."""
    run.refresh_from_db()
    now = timezone.now()
    run.status, run.heartbeat_at = RunStatus.QUEUED, now
    run.slices += 1
    run.waited_seconds += wait
    if client is not None:
        run.api_calls = base_calls[0] + client.calls
        run.retries = base_calls[1] + client.retries
        run.credits = base_calls[2] + client.credits
    run.save(update_fields=["status", "heartbeat_at", "slices", "waited_seconds", "api_calls", "retries", "credits"])
    release(run.pk)
    run.retry_in = wait
    return run


def _decisions_honoured(run: SyncRun) -> None:
    """The duplicate decisions a full run applied say which run (the preview page lists them)."""
    if run.status not in (RunStatus.SUCCEEDED, RunStatus.PARTIAL) or run.trigger in EVENT_TRIGGERS:
        return
    used = DuplicateSuggestion.objects.filter(module_config_id=run.module_config_id, used_by__isnull=True).exclude(
        decision=Decision.PENDING).update(used_by=run)
    if used:
        note = f"{used} possible duplicate{'s' if used != 1 else ''} decided before the sync: applied."
        SyncRun.objects.filter(pk=run.pk).update(notes=f"{run.notes}\n{note}".strip())


def _follow_up(run: SyncRun) -> None:
    """The open issues and alerts a finished run opens or closes; their trouble never undoes the run."""
    try:
        open_issues.track(run)
        alerts.after_run(run)
        _decisions_honoured(run)
    except Exception:  # noqa: BLE001 - the run is recorded; the log has what went wrong after it
        log.exception("follow-up of run %s failed", run.pk)
