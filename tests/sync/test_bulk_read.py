"""Large first loads through Bulk Read: the same records, field for field, as Get Records gives (the
exactness tests run again with every first pass on Bulk Read), changes made while a job runs caught by
the pass that follows, a failed job left to Get Records with the reason, incremental runs on Get
Records, and a run that stops mid-file going on with the same job."""

from __future__ import annotations

import gc
import threading
import time

import pytest
from django.db import connection as db

from customers.models import Customer
from sync.engine import bulk_read
from sync.engine import run as engine
from sync.models import SyncRun

from . import test_exactness
from .checks import links_of
from .conftest import configure, sync

JOBS = "POST /crm/bulk/v8/read"


@pytest.fixture
def bulk(settings):
    settings.CRM_BULK_READ_THRESHOLD = 0  # every first pass of a module with records comes from Bulk Read


def calls(sandbox) -> dict:
    return sandbox.calls()["calls"]


@pytest.mark.parametrize("action", ["clone", "overwrite", "skip"])
def test_accounts_through_bulk_read_are_exact_under_each_duplicate_rule(bulk, connection, crm, sandbox, action):
    test_exactness.test_accounts_become_business_customers_under_each_duplicate_rule(connection, crm, action)
    assert calls(sandbox)[JOBS] == 1


@pytest.mark.parametrize("orphans", [False, True], ids=["without-orphans", "with-orphans"])
def test_accounts_with_their_contacts_through_bulk_read_are_exact(bulk, connection, crm, sandbox, orphans):
    test_exactness.test_accounts_and_their_contacts_become_customers_with_contact_persons(connection, crm, orphans)
    assert calls(sandbox)[JOBS] == 2  # one job per CRM module


@pytest.mark.parametrize("key,action", [("name", "overwrite"), ("sku", "skip")])
def test_products_through_bulk_read_are_exact(bulk, connection, crm, sandbox, key, action):
    test_exactness.test_products_become_items_by_name_or_sku_under_each_duplicate_rule(connection, crm, key, action)
    assert calls(sandbox)[JOBS] == 1


def test_typed_custom_fields_through_bulk_read_are_exact(bulk, connection, crm, sandbox):
    test_exactness.test_mapped_picklist_number_and_currency_fields_land_in_custom_fields(connection, crm)
    assert calls(sandbox)[JOBS] == 1


def test_a_small_module_and_every_later_run_stay_on_get_records(connection, sandbox, settings):
    config = configure(connection, "vendors")
    settings.CRM_BULK_READ_THRESHOLD = 10**6
    sync(config)
    assert JOBS not in calls(sandbox)

    settings.CRM_BULK_READ_THRESHOLD = 0
    sandbox.reset_calls()
    vendor = next(iter(links_of(connection, "Vendors")))
    sandbox.edit_record("Vendors", vendor, {"Vendor_Name": "Renamed Vendor"})
    run = sync(config)
    assert JOBS not in calls(sandbox) and run.updated == 1


def test_a_bulk_read_job_costs_50_credits_and_every_other_call_its_own(bulk, connection, sandbox):
    sandbox.bulk("Accounts", create=[{"Account_Name": f"Credit Load {n:04d}"} for n in range(1200)])
    config = configure(connection, "customers")
    sandbox.reset_calls()

    run = sync(config)

    assert run.status == "succeeded" and run.added == len(links_of(connection, "Accounts"))
    made = calls(sandbox)
    assert made[JOBS] == 1
    # Records changed in the minute before the job are read again by the sorted pass (they may not all
    # have been in the job's snapshot): here, all 1,200 of them.
    assert made["GET /crm/v8/Accounts"] <= 1200 // 200 + 1
    other = sum(n for call, n in made.items() if call not in (JOBS, "POST /oauth/v2/token", "GET /crm/v8/Accounts/deleted"))
    assert run.credits == 50 + other + 2 * made["GET /crm/v8/Accounts/deleted"]


def test_the_cycle_collector_does_not_run_while_a_file_is_applied(bulk, connection, sandbox, monkeypatch):
    """A large load's pages make objects by the hundred thousand: with Python's thresholds the collector
    ran every few dozen records, and through the whole process every few pages."""
    sandbox.bulk("Accounts", create=[{"Account_Name": f"Collected {n:04d}"} for n in range(400)])
    config = configure(connection, "customers")
    in_file, collections = [False], []
    apply_file = bulk_read._apply_file

    def spy(*args, **kwargs):
        in_file[0] = True
        try:
            return apply_file(*args, **kwargs)
        finally:
            in_file[0] = False

    def count(phase, info):
        if phase == "start" and in_file[0]:
            collections.append(info["generation"])

    monkeypatch.setattr(bulk_read, "_apply_file", spy)
    thresholds = gc.get_threshold()
    gc.callbacks.append(count)
    try:
        run = sync(config)
    finally:
        gc.callbacks.remove(count)

    assert run.status == "succeeded" and run.added == len(links_of(connection, "Accounts")) >= 400
    assert collections == []
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0  # as they were, nothing held back


def test_changes_made_while_the_job_runs_are_caught_by_the_pass_that_follows(bulk, transactional_db, connection,
                                                                            sandbox):
    sandbox.config(bulk_job_ms=1500)
    config = configure(connection, "customers")
    account = next(r for r in sandbox_accounts(sandbox))
    done = {}

    def run_it():
        try:
            done["run"] = sync(config)
        finally:
            db.close()  # this thread's own database connection

    worker = threading.Thread(target=run_it)
    worker.start()
    deadline = time.monotonic() + 10
    while JOBS not in calls(sandbox) and time.monotonic() < deadline:
        time.sleep(0.05)
    sandbox.edit_record("Accounts", account, {"Account_Name": "Renamed while the job ran"})
    added = sandbox.create_record("Accounts", {"Account_Name": "Made while the job ran"})
    worker.join(30)

    assert done["run"].status == "succeeded"
    links = links_of(connection, "Accounts")
    assert Customer.objects.get(pk=links[account].erp_id).display_name == "Renamed while the job ran"
    assert Customer.objects.get(pk=links[added["id"]].erp_id).display_name == "Made while the job ran"


def sandbox_accounts(sandbox):
    from tests.sandbox import crm_records, sandbox_client

    return [r["id"] for r in crm_records(sandbox_client(sandbox), "Accounts", fields=["Account_Name"])]


def test_a_failed_job_leaves_the_pass_to_get_records_with_the_reason_in_the_history(bulk, connection, sandbox,
                                                                                     actors):
    sandbox.config(bulk_fail_rate=1.0)
    config = configure(connection, "customers")

    run = sync(config)

    assert run.status == "succeeded" and run.added == len(sandbox_accounts(sandbox))
    assert "Bulk Read job" in run.notes and "failed" in run.notes and "page by page" in run.notes
    page = actors.client_for(actors.admin).get(f"/sync/runs/{run.pk}/")
    assert "page by page" in page.text


def run_in_slices(config, most: int) -> SyncRun:
    """A run in a worker whose slices end at the first page committed, until it is over."""
    run = SyncRun.objects.create(module_config=config, trigger="instant", status="queued")
    for _ in range(most):
        run = engine.run_module(run_id=run.pk, slice_seconds=0.001)
        if run.status != "queued":
            break
    return run


def test_a_run_that_gives_its_worker_back_mid_file_goes_on_with_the_same_job(bulk, connection, sandbox,
                                                                           monkeypatch):
    monkeypatch.setattr(bulk_read, "ROWS_PER_TRANSACTION", 40)
    sandbox.bulk("Accounts", create=[{"Account_Name": f"Sliced {n:03d}"} for n in range(200)])
    config = configure(connection, "customers")

    run = run_in_slices(config, 50)

    assert run.status == "succeeded" and run.slices >= 3
    assert calls(sandbox)[JOBS] == 1  # every slice read the same job's file
    accounts = sandbox_accounts(sandbox)
    assert set(links_of(connection, "Accounts")) == set(accounts) and run.added == len(accounts)
    assert Customer.objects.filter(organization=connection.organization).count() == len(accounts)
    config.refresh_from_db()
    assert "bulk" not in config.crm_cursor["Accounts"] and config.crm_cursor["Accounts"]["modified"]


def test_a_module_on_several_job_pages_is_read_whole_each_next_page_exported_while_one_is_applied(
        bulk, connection, sandbox, monkeypatch):
    monkeypatch.setattr(bulk_read, "ROWS_PER_TRANSACTION", 40)
    sandbox.config(bulk_per_page=60)
    sandbox.bulk("Accounts", create=[{"Account_Name": f"Paged {n:03d}"} for n in range(200)])
    accounts = sandbox_accounts(sandbox)
    pages = -(-len(accounts) // 60)
    asked_before_applying = []
    apply_file = bulk_read._apply_file

    def spy(ctx, read, state, progress, fields, *, skip):
        asked_before_applying.append((progress["page"], calls(sandbox)[JOBS]))
        return apply_file(ctx, read, state, progress, fields, skip=skip)

    monkeypatch.setattr(bulk_read, "_apply_file", spy)
    config = configure(connection, "customers")

    run = sync(config)

    assert run.status == "succeeded" and pages >= 4
    assert calls(sandbox)[JOBS] == pages and len(asked_before_applying) == pages  # one job per page
    assert all(asked >= min(page + 1, pages) for page, asked in asked_before_applying)
    assert set(links_of(connection, "Accounts")) == set(accounts) and run.added == len(accounts)
    assert Customer.objects.filter(organization=connection.organization).count() == len(accounts)


def test_a_run_that_gives_its_worker_back_between_job_pages_takes_the_next_page_s_job_it_asked_for(
        bulk, connection, sandbox, monkeypatch):
    monkeypatch.setattr(bulk_read, "ROWS_PER_TRANSACTION", 60)
    sandbox.config(bulk_per_page=60)
    more = 120 - len(sandbox_accounts(sandbox))
    sandbox.bulk("Accounts", create=[{"Account_Name": f"Sliced {n:03d}"} for n in range(more)])
    config = configure(connection, "customers")

    run = run_in_slices(config, 10)

    assert run.status == "succeeded" and run.slices >= 2
    assert calls(sandbox)[JOBS] == 2  # the second page's job, asked for in the first slice, read in the next
    accounts = sandbox_accounts(sandbox)
    assert set(links_of(connection, "Accounts")) == set(accounts) and run.added == len(accounts) == 120


def test_csv_cells_become_the_values_get_records_gives():
    convert = bulk_read.RowConverter([
        {"api_name": "Employees", "data_type": "integer"}, {"api_name": "Revenue", "data_type": "currency"},
        {"api_name": "Active", "data_type": "boolean"}, {"api_name": "Tags", "data_type": "multiselectpicklist"},
        {"api_name": "Parent_Account", "data_type": "lookup"}, {"api_name": "Account_Name", "data_type": "text"},
    ])
    header = ["id", "Account_Name", "Employees", "Revenue", "Active", "Tags", "Parent_Account.id", "Owner"]
    rows = [
        ["1", "Acme", "12", "1500.5", "true", "A;B", "77", "900"],
        ["2", "", "twelve", "", "false", "", "", ""],
        ["3", "Short"],  # a short row: the cells it lacks are empty
        ["4", "Long", "", "", "", "", "", "", "extra"],  # a longer row's extra cells go
    ]
    records = list(convert.rows(header, iter(rows)))
    assert records[0] == {"id": "1", "Account_Name": "Acme", "Employees": 12, "Revenue": 1500.5, "Active": True,
                          "Tags": ["A", "B"], "Parent_Account": {"id": "77"}, "Owner": {"id": "900"}}
    assert records[1] == {"id": "2", "Account_Name": None, "Employees": "twelve", "Revenue": None, "Active": False,
                          "Tags": None, "Parent_Account": None, "Owner": None}
    assert records[2]["Account_Name"] == "Short" and records[2]["Owner"] is None and len(records[2]) == len(header)
    assert records[3]["Account_Name"] == "Long" and len(records[3]) == len(header)


def test_of_two_columns_for_one_key_the_later_one_gives_the_value():
    convert = bulk_read.RowConverter([])
    assert list(convert.rows(["id", "Manager", "Manager.id"], iter([["1", "Ana Ruiz", "42"]]))) == [
        {"id": "1", "Manager": {"id": "42"}}]
    assert list(convert.rows(["id", "Manager.id", "Manager"], iter([["1", "42", "Ana Ruiz"], ["2", "42", ""]]))) == [
        {"id": "1", "Manager": "Ana Ruiz"}, {"id": "2", "Manager": None}]


def test_loads_in_two_threads_leave_the_collector_as_it_was():
    """Two loads of one process that overlap (a worker with a thread pool): the first one done leaves the
    collector held back for the other, and the last one done gives Python's settings back."""
    thresholds = gc.get_threshold()
    first, second = bulk_read.fewer_collections(), bulk_read.fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == bulk_read.YOUNG_OBJECTS
    second.__exit__(None, None, None)
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0


@pytest.mark.parametrize("done_at", [0.05, 0.5, 1.0, 2.2, 2.65, 3.7, 5.1, 7.0, 9.9])
def test_a_job_s_end_is_seen_within_half_a_second_through_its_first_ten_seconds(monkeypatch, done_at):
    """A load waits for the first status read after its job is done: a job of a few seconds (a large
    module's on a quick CRM) is not left done for a second or more before its file is read."""
    crm = _JobClock(done_at)
    monkeypatch.setattr(bulk_read.time, "sleep", crm.sleep)

    details = bulk_read._wait(crm, "job-1", {"state": "ADDED"})

    assert details["state"] == "COMPLETED"
    assert done_at <= crm.now <= done_at + 0.5 + 1e-9, crm.now


def test_a_job_of_minutes_costs_a_status_read_every_five_seconds(monkeypatch):
    crm = _JobClock(600.0)
    monkeypatch.setattr(bulk_read.time, "sleep", crm.sleep)

    bulk_read._wait(crm, "job-1", {"state": "ADDED"})

    # 22 reads through the first ten seconds, four as the steps grow to five seconds, then one every five
    assert crm.reads <= 22 + 4 + (600 - 21) / 5 + 1, crm.reads


class _JobClock:
    """A job done `done_at` seconds after it was created, on a clock that moves only as the poll sleeps:
    the context and client _wait is given (the schedule, not the CRM, is what is tested here)."""

    def __init__(self, done_at: float):
        self.done_at, self.now, self.reads = done_at, 0.0, 0
        self.client = self

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def bulk_read_job(self, job_id: str) -> dict:
        self.reads += 1
        return {"id": job_id, "state": "COMPLETED" if self.now >= self.done_at else "IN PROGRESS"}

    def heartbeat(self) -> None:
        pass
