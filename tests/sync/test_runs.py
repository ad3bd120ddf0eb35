"""The running slot, skipped and reclaimed runs, the beat's tick and re-syncing one record."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from crm_sandbox.schema import USERS
from customers.models import Customer
from integration.models import ConnectionStatus
from sync import enqueue, tasks
from sync.engine import run as engine
from sync.engine import slot
from sync.models import RecordLink, SyncRun
from tests.factories import CustomerFactory
from vendors.models import Vendor

from .checks import links_of
from .conftest import configure, sync, worker_alive


def queued(config, trigger="instant") -> SyncRun:
    return SyncRun.objects.create(module_config=config, trigger=trigger, status="queued")


@pytest.mark.django_db(transaction=True)
def test_two_runs_claimed_at_the_same_moment_one_runs_the_other_is_skipped(connection):
    config = configure(connection, "vendors")
    runs = [queued(config), queued(config)]
    barrier = threading.Barrier(2)
    results = {}

    def claim(run):
        try:
            barrier.wait()
            results[run.pk] = slot.claim(run)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=claim, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values()) == [False, True]
    statuses = {run.pk: SyncRun.objects.get(pk=run.pk) for run in runs}
    winner = next(pk for pk, claimed in results.items() if claimed)
    loser = next(pk for pk, claimed in results.items() if not claimed)
    assert statuses[winner].status == "running"
    assert (statuses[loser].status, statuses[loser].failure_reason) == ("skipped", slot.IN_PROGRESS_REASON)


def test_a_run_whose_worker_died_is_reclaimed_by_the_next(connection):
    config = configure(connection, "vendors")
    dead = SyncRun.objects.create(module_config=config, trigger="scheduled", status="running",
                                  started_at=timezone.now() - datetime.timedelta(minutes=30),
                                  heartbeat_at=timezone.now() - slot.STALE_AFTER - datetime.timedelta(seconds=5))

    run = sync(config)

    dead.refresh_from_db()
    assert dead.status == "failed" and any(
        words in dead.failure_reason for words in ("stopped reporting progress", "process running this sync stopped"))
    assert run.status == "succeeded" and links_of(connection, "Vendors")


def test_a_hung_worker_whose_heartbeat_stopped_is_reclaimed_although_it_holds_its_lock(connection):
    config = configure(connection, "vendors")
    hung = SyncRun.objects.create(module_config=config, trigger="scheduled", status="running",
                                  started_at=timezone.now() - datetime.timedelta(minutes=30),
                                  heartbeat_at=timezone.now() - slot.STALE_AFTER - datetime.timedelta(seconds=5))
    with worker_alive(config):
        run = sync(config)

    hung.refresh_from_db()
    assert hung.status == "failed" and "stopped reporting progress" in hung.failure_reason
    assert run.status == "succeeded"


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's")
def test_a_run_whose_process_is_gone_holds_up_nothing_even_with_a_fresh_heartbeat(actors, connection):
    config = configure(connection, "vendors")
    orphaned = SyncRun.objects.create(module_config=config, trigger="scheduled", status="running",
                                      started_at=timezone.now(), heartbeat_at=timezone.now())

    run, started, message = enqueue.sync_now(module_config=config, trigger="instant")

    orphaned.refresh_from_db()
    assert started and message == "Sync started." and run.status == "queued"
    assert orphaned.status == "failed" and "process running this sync stopped" in orphaned.failure_reason


def test_a_live_run_is_not_reclaimed_and_its_redelivery_waits(connection):
    config = configure(connection, "vendors")
    live = SyncRun.objects.create(module_config=config, trigger="scheduled", status="running",
                                  started_at=timezone.now(), heartbeat_at=timezone.now())

    with worker_alive(config):
        second = sync(config)
        assert (second.status, second.failure_reason) == ("skipped", slot.IN_PROGRESS_REASON)
        with pytest.raises(slot.RunBusy):
            engine.run_module(run_id=live.pk)
        assert enqueue.sync_now(module_config=config, trigger="instant")[1:] == (
            False, "A sync of this module is already in progress.")
    live.refresh_from_db()
    assert live.status == "running"


def test_a_redelivered_run_whose_worker_died_is_taken_over(connection, sandbox):
    config = configure(connection, "vendors")
    stale = timezone.now() - slot.STALE_AFTER - datetime.timedelta(seconds=1)
    run = SyncRun.objects.create(module_config=config, trigger="scheduled", status="running",
                                 started_at=stale, heartbeat_at=stale)

    finished = engine.run_module(run_id=run.pk)

    assert finished.pk == run.pk and finished.status == "succeeded"
    assert set(links_of(connection, "Vendors"))


@pytest.mark.parametrize("reason", ["paused", "disabled", "needs_reauth"])
def test_a_paused_module_or_an_inactive_connection_skips_the_run_and_says_why(connection, sandbox, reason):
    config = configure(connection, "vendors", paused=reason == "paused")
    if reason != "paused":
        connection.status = ConnectionStatus.DISABLED if reason == "disabled" else ConnectionStatus.NEEDS_REAUTH
        connection.save()

    run = sync(config)

    assert run.status == "skipped"
    assert {"paused": "paused", "disabled": "disabled", "needs_reauth": "authorized again"}[reason] in run.failure_reason
    assert sandbox.calls()["total"] <= 3  # only connecting; nothing was synced
    assert not RecordLink.objects.exists()


def test_a_finished_run_schedules_the_next_one(connection):
    config = configure(connection, "vendors", interval_minutes=120)

    run = sync(config)

    config.refresh_from_db()
    assert run.finished_at + datetime.timedelta(minutes=119) < config.next_run_at
    assert config.next_run_at <= run.finished_at + datetime.timedelta(minutes=121)


def test_the_tick_queues_due_modules_only(connection, django_capture_on_commit_callbacks):
    due = configure(connection, "vendors", next_run_at=timezone.now() - datetime.timedelta(minutes=1))
    configure(connection, "items", next_run_at=timezone.now() + datetime.timedelta(hours=1))
    configure(connection, "customers", paused=True, next_run_at=timezone.now() - datetime.timedelta(hours=1))

    with django_capture_on_commit_callbacks() as callbacks:
        queued_now = tasks.tick()

    assert queued_now == 1
    assert list(SyncRun.objects.values_list("module_config__module", "trigger", "status")) == [
        ("vendors", "scheduled", "queued")]
    assert len(callbacks) == 1  # sync_module is sent once the run is committed
    with django_capture_on_commit_callbacks():
        assert tasks.tick() == 0  # the run is still queued: nothing more
    assert due.runs.count() == 1


def test_resync_fetches_one_record_again(connection, sandbox):
    config = configure(connection, "customers", crm_source="accounts")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    sandbox.edit_record("Accounts", crm_id, {"Phone": "+1 555 4242"})

    run = engine.resync_link(link_id=link.pk)

    assert (run.trigger, run.status, run.updated) == ("resync", "succeeded", 1)
    assert Customer.objects.get(pk=link.erp_id).phone == "+1 555 4242"
    sandbox.delete_record("Accounts", crm_id)
    gone = engine.resync_link(link_id=link.pk)
    assert gone.deleted == 1 and not Customer.objects.filter(pk=link.erp_id).exists()


def test_an_erp_record_without_a_link_is_left_alone_by_a_fetch(connection):
    own = CustomerFactory(organization=connection.organization, display_name="Only here")
    config = configure(connection, "customers", crm_source="accounts")

    sync(config)

    assert Customer.objects.get(pk=own.pk).display_name == "Only here"
    assert not RecordLink.objects.filter(erp_model="customer", erp_id=own.pk).exists()


def test_resync_works_on_a_paused_module_but_not_on_a_disabled_connection(connection, sandbox):
    config = configure(connection, "vendors")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Vendors").items()))
    sandbox.edit_record("Vendors", crm_id, {"City": "Lyon"})
    config.paused = True
    config.save()

    run = engine.resync_link(link_id=link.pk)

    assert run.status == "succeeded"
    assert Vendor.objects.get(pk=link.erp_id).city == "Lyon"
    connection.status = ConnectionStatus.DISABLED
    connection.save()
    refused = engine.resync_link(link_id=link.pk)
    assert refused.status == "skipped" and "disabled" in refused.failure_reason


def test_the_crm_owner_is_kept_on_the_link_and_an_owner_without_erp_account_writes_nothing(connection, sandbox):
    config = configure(connection, "vendors")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Vendors").items()))
    owner = sandbox.get_record("Vendors", crm_id)["Owner"]["id"]
    assert link.synced_snapshot["_owner"] == owner
    other = next(user["id"] for user in USERS if user["id"] != owner)
    sandbox.edit_record("Vendors", crm_id, {"Owner": {"id": other}})
    before = Vendor.objects.get(pk=link.erp_id).updated_at

    run = sync(config)

    link.refresh_from_db()
    assert link.synced_snapshot["_owner"] == other
    assert Vendor.objects.get(pk=link.erp_id).updated_at == before and run.updated == 0
