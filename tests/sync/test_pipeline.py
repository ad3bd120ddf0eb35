"""A large first load written while the next page is planned (sync.engine.pipeline): the same records as a
load without it, one primary contact person per customer when an account's contacts come on several
pages, and a page the database refuses written again with nothing lost. These tests commit (the writer's
connection sees only what is committed)."""

from __future__ import annotations

import datetime
import logging
import threading

import pytest

from customers.models import ContactPerson, Customer
from integration.models import ModuleConfig
from sync.engine import bulk_read, incoming, pipeline

from . import test_exactness
from .checks import links_of
from .conftest import configure, sync

REWRITTEN = "a pipelined page write failed"


@pytest.fixture
def written(bulk, monkeypatch):
    """The threads that wrote pipelined pages, one entry per page."""
    threads: list[str] = []
    write = incoming.write_page

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return write(*args, **kwargs)

    monkeypatch.setattr(pipeline, "write_page", spy)
    return threads


@pytest.fixture
def bulk(settings, monkeypatch):
    settings.CRM_BULK_READ_THRESHOLD = 0
    monkeypatch.setattr(bulk_read, "ROWS_PER_TRANSACTION", 3)  # many pages, an account's contacts on several


@pytest.mark.parametrize("orphans", [False, True], ids=["without-orphans", "with-orphans"])
def test_a_pipelined_first_load_of_accounts_and_contacts_is_exact(transactional_db, written, connection, crm,
                                                                  caplog, orphans):
    with caplog.at_level(logging.WARNING, logger="sync"):
        test_exactness.test_accounts_and_their_contacts_become_customers_with_contact_persons(connection, crm,
                                                                                            orphans)

    assert len(written) > 4 and set(written) == {"page-writer"}
    assert REWRITTEN not in caplog.text


def one_account_with_contacts(sandbox, count: int) -> str:
    account = sandbox.create_record("Accounts", {"Account_Name": "Many Contacts Ltd"})["id"]
    sandbox.bulk("Contacts", create=[{"Last_Name": f"Person {n}", "Account_Name": {"id": account}}
                                     for n in range(count)])
    return account


def persons_of(connection, account: str):
    customer = links_of(connection, "Accounts")[account].erp_id
    return ContactPerson.objects.filter(customer_id=customer)


def test_an_accounts_contacts_on_several_pages_give_its_customer_one_primary(transactional_db, written, connection,
                                                                             sandbox, caplog):
    account = one_account_with_contacts(sandbox, 8)
    config = configure(connection, "customers", crm_source="accounts_and_contacts")

    with caplog.at_level(logging.WARNING, logger="sync"):
        run = sync(config)

    assert run.status == "succeeded" and run.failed == 0
    people = persons_of(connection, account)
    assert people.count() == 8 and people.filter(is_primary=True).count() == 1
    assert REWRITTEN not in caplog.text  # the primary was handed to the next page, not found by a refusal


def test_a_page_the_database_refuses_is_written_again_and_nothing_is_lost(transactional_db, written, connection,
                                                                        sandbox, crm, monkeypatch, caplog):
    account = one_account_with_contacts(sandbox, 8)
    # The next page is planned without the customers the page in flight makes primary: it makes a second
    # primary contact person, and the database refuses that page.
    monkeypatch.setattr(incoming.PlannedPage, "primaries", lambda self: set())
    # Two such pages in flight may each wait for the other (one for the other's row, one for its turn):
    # the later one soon gives way.
    monkeypatch.setattr(pipeline, "TURN_SECONDS", 1.0)
    # The pass after the jobs reads nothing again (it would otherwise bring back what a page lost).
    monkeypatch.setattr(bulk_read, "MARGIN", -datetime.timedelta(minutes=5))
    config = configure(connection, "customers", crm_source="accounts_and_contacts")

    with caplog.at_level(logging.WARNING, logger="sync"):
        run = sync(config)

    assert REWRITTEN in caplog.text
    assert run.status == "succeeded" and run.failed == 0
    people = persons_of(connection, account)
    assert people.count() == 8 and people.filter(is_primary=True).count() == 1
    accounts = links_of(connection, "Accounts")
    contacts = links_of(connection, "Contacts", "contact_person")
    assert set(accounts) == set(crm.records("Accounts", ["Account_Name"]))
    assert set(contacts) == {crm_id for crm_id, record in crm.records("Contacts", ["Account_Name"]).items()
                             if record.get("Account_Name")}
    assert Customer.objects.filter(organization=connection.organization).count() == len(accounts)
    assert ContactPerson.objects.filter(customer__organization=connection.organization).count() == len(contacts)
    assert run.added == len(accounts) + len(contacts)  # the refused page counted once, when written


def test_inside_a_transaction_pages_are_written_in_it(bulk, connection, sandbox, written):
    """A caller's transaction (a test's, here) holds rows another connection cannot see: no pipeline."""
    config = configure(connection, "customers")

    run = sync(config)

    assert run.status == "succeeded" and run.added > 0 and written == []


def test_a_pipelined_run_that_gives_its_worker_back_mid_file_goes_on_where_it_was(transactional_db, written,
                                                                                connection, sandbox, monkeypatch):
    """Each slice ends with the page in flight committed and its cursor saved: the next slice reads on from
    there, with nothing applied twice or left out."""
    from . import test_bulk_read

    test_bulk_read.test_a_run_that_gives_its_worker_back_mid_file_goes_on_with_the_same_job(
        None, connection, sandbox, monkeypatch)

    assert len(written) >= 3


def test_a_first_loads_pages_do_not_look_their_links_up(transactional_db, written, connection, sandbox,
                                                        monkeypatch):
    """Nothing of the module was linked when the pass began, and a file holds each record once: a page's
    links are not looked up (a probe per record, a fifth of a large load's time)."""
    from sync.engine import loading

    looked_up = []
    probe = loading.probe

    def spy(model, column, keys, **equal):
        keys = list(keys)
        if model is loading.RecordLink and keys and threading.current_thread().name == "MainThread":
            looked_up.append(keys)
        return probe(model, column, keys, **equal)

    monkeypatch.setattr(loading, "probe", spy)
    monkeypatch.setattr(bulk_read, "MARGIN", -datetime.timedelta(minutes=5))  # no pass after the jobs
    config = configure(connection, "customers")

    run = sync(config)

    assert run.status == "succeeded" and run.added == len(links_of(connection, "Accounts")) > 9
    assert len(written) > 3 and looked_up == []

    # Read in full again (the cursor forgotten) with the module linked: every page's links are looked up,
    # and nothing is added twice.
    ModuleConfig.objects.filter(pk=config.pk).update(crm_cursor={})
    run = sync(config)

    assert run.status == "succeeded" and run.added == 0 and run.failed == 0
    assert sum(len(keys) for keys in looked_up) == len(links_of(connection, "Accounts"))


def test_a_record_imported_while_a_first_load_runs_is_linked_once(transactional_db, written, connection, sandbox,
                                                                  crm, monkeypatch, caplog):
    """A finance user imports an account from the New Invoice form while the first load runs: the page that
    holds it, planned as if nothing were linked, is refused by the database and planned again on what is
    committed, and the account keeps the one customer the import made."""
    from sync import importing

    config = configure(connection, "customers")
    imported = {}
    plan = pipeline.plan_page

    def import_meanwhile(ctx, read, records, **options):
        if not imported:
            later = sorted(set(crm.records("Accounts", ["Account_Name"])) - {str(r["id"]) for r in records})[0]
            imported[later] = importing.import_record(connection=connection, crm_module="Accounts",
                                                      crm_id=later)[0].pk
        return plan(ctx, read, records, **options)

    monkeypatch.setattr(pipeline, "plan_page", import_meanwhile)

    with caplog.at_level(logging.WARNING, logger="sync"):
        run = sync(config)

    assert REWRITTEN in caplog.text
    assert run.status == "succeeded" and run.failed == 0
    accounts = links_of(connection, "Accounts")
    assert set(accounts) == set(crm.records("Accounts", ["Account_Name"]))
    [(crm_id, customer)] = imported.items()
    assert accounts[crm_id].erp_id == customer
    assert Customer.objects.filter(organization=connection.organization).count() == len(accounts)
    assert run.added == len(accounts) - 1


def refuse_the_first_commit(monkeypatch) -> list[str]:
    """The first pipelined page breaks a deferred constraint: the database refuses it at its commit."""
    from django.db import connection as db

    write = incoming.write_page
    refused = []

    def write_then_break_a_deferred_constraint(ctx, read, planned, *, cursor, **options):
        counts = write(ctx, read, planned, cursor=cursor, **options)
        if not refused:
            refused.append(read.crm_module)
            with db.cursor() as cursor_:  # a link to no connection: checked at the commit only
                cursor_.execute("SET CONSTRAINTS ALL DEFERRED")
                cursor_.execute("UPDATE sync_recordlink SET connection_id = -1 WHERE id = "
                                "(SELECT max(id) FROM sync_recordlink)")
        return counts

    monkeypatch.setattr(pipeline, "write_page", write_then_break_a_deferred_constraint)
    monkeypatch.setattr(bulk_read, "MARGIN", -datetime.timedelta(minutes=5))  # no pass after the jobs
    return refused


def test_a_page_refused_at_its_commit_is_written_again_and_nothing_is_lost(transactional_db, connection, crm,
                                                                         bulk, monkeypatch, caplog):
    """The database may refuse a page only when it commits (a deferred constraint): the page counts as
    refused, not as written, and the pages after it are planned on what was committed."""
    refused = refuse_the_first_commit(monkeypatch)
    config = configure(connection, "customers")

    with caplog.at_level(logging.WARNING, logger="sync"):
        run = sync(config)

    assert refused and REWRITTEN in caplog.text
    assert run.status == "succeeded" and run.failed == 0
    accounts = links_of(connection, "Accounts")
    assert set(accounts) == set(crm.records("Accounts", ["Account_Name"]))
    assert Customer.objects.filter(organization=connection.organization).count() == len(accounts) == run.added


def test_the_page_after_a_refused_one_never_commits_before_it_so_a_crash_then_loses_nothing(
        transactional_db, connection, crm, bulk, monkeypatch):
    """Two pages are in flight at once, each on its own connection. The second one waits for the first to
    commit before it writes its cursor, and rolls back when the first is refused: were it committed,
    its cursor would count the refused page's records as applied, and a worker lost before they were
    written again would leave them out for good."""
    refuse_the_first_commit(monkeypatch)
    apply = pipeline.apply_records
    lost = []

    def lose_the_worker(*args, **kwargs):
        if not lost:
            lost.append(True)
            raise RuntimeError("the worker was lost")
        return apply(*args, **kwargs)

    monkeypatch.setattr(pipeline, "apply_records", lose_the_worker)
    config = configure(connection, "customers")

    assert sync(config).status == "failed"
    run = sync(config)  # the next run goes on from the cursor, with the same job's file

    assert lost and run.status == "succeeded" and run.failed == 0
    accounts = links_of(connection, "Accounts")
    assert set(accounts) == set(crm.records("Accounts", ["Account_Name"]))
    assert Customer.objects.filter(organization=connection.organization).count() == len(accounts)


def test_a_page_whose_page_before_is_slow_to_commit_gives_way_and_is_written_again(
        transactional_db, connection, crm, bulk, monkeypatch, caplog):
    """The page after one that takes too long waits no longer for its turn: it rolls back and is written
    again once the slow page is committed, and nothing is lost or written twice."""
    import time

    monkeypatch.setattr(pipeline, "TURN_SECONDS", 0.2)
    monkeypatch.setattr(bulk_read, "MARGIN", -datetime.timedelta(minutes=5))  # no pass after the jobs
    write = incoming.write_page
    slowed = []

    def slow_first(ctx, read, planned, *, cursor, **options):
        if not slowed:
            slowed.append(True)
            time.sleep(1.0)
        return write(ctx, read, planned, cursor=cursor, **options)

    monkeypatch.setattr(pipeline, "write_page", slow_first)
    config = configure(connection, "customers")

    with caplog.at_level(logging.WARNING, logger="sync"):
        run = sync(config)

    assert slowed and "not committed within" in caplog.text
    assert run.status == "succeeded" and run.failed == 0
    accounts = links_of(connection, "Accounts")
    assert set(accounts) == set(crm.records("Accounts", ["Account_Name"]))
    assert Customer.objects.filter(organization=connection.organization).count() == len(accounts) == run.added
