"""Fetching over time: incremental runs, deletions, contacts that change accounts, views, the CRM's UTC
offset and the 100,000-record page_token window (lowered in a sandbox of its own)."""

from __future__ import annotations

import pytest

from crm_sandbox.process import SandboxProcess
from crm_sandbox.schema import custom_views
from customers.models import ContactPerson, Customer
from integration import services
from sync.engine import fetch
from sync.engine.cursor import parse_time
from sync.models import RecordLink, SyncIssue
from tests.factories import InvoiceFactory
from tests.integration.conftest import sandbox_client
from vendors.models import Vendor

from .checks import default_pairs, links_of, mismatches
from .conftest import Crm, configure, sync
from .test_exactness import ACCOUNT_FIELDS


def test_an_incremental_run_reads_only_what_changed(connection, crm, sandbox):
    config = configure(connection, "customers", crm_source="accounts")
    first = sync(config)
    changed = list(links_of(connection, "Accounts"))[:4]
    for n, crm_id in enumerate(changed):
        sandbox.edit_record("Accounts", crm_id, {"Billing_City": f"Town {n}"})

    second = sync(config)

    assert second.updated == 4 and second.added == 0
    assert second.progress_done < first.progress_done / 2  # not a full pass
    accounts = crm.records("Accounts", ACCOUNT_FIELDS)
    assert mismatches(accounts, links_of(connection, "Accounts"),
                      default_pairs("customer", "Accounts", set(ACCOUNT_FIELDS))) == []


@pytest.mark.parametrize("view", ["", "Hardware Vendors"])
def test_an_empty_crm_module_is_read_whole_once_then_only_for_what_is_new(connection, crm, sandbox, view):
    sandbox.bulk("Vendors", delete=list(crm.records("Vendors", ["Vendor_Name"])))
    view_id = next((v["id"] for v in custom_views("Vendors") if v["name"] == view), "")
    config = configure(connection, "vendors", crm_view_id=view_id)
    assert sync(config).status == "succeeded"
    sandbox.reset_calls()

    second = sync(config)

    calls = sandbox.calls()["calls"]
    assert second.status == "succeeded" and "GET /crm/v8/Vendors/actions/count" not in calls  # not counted again
    assert calls.get("GET /crm/v8/Vendors") == 1  # one read, for what changed since the first
    sandbox.create_record("Vendors", {"Vendor_Name": "Newcomer Supplies", "Category": "Hardware"})
    third = sync(config)
    assert third.added == 1 and Vendor.objects.filter(display_name="Newcomer Supplies").exists()


def test_deleted_in_the_crm_follows_origin_and_transactions(connection, sandbox):
    config = configure(connection, "customers", crm_source="accounts", direction="both")
    own = Customer.objects.create(organization=connection.organization, display_name="Pushed from the ERP")
    sync(config)
    links = links_of(connection, "Accounts")
    plain, with_invoice = [crm_id for crm_id, link in links.items() if link.origin == "crm"][:2]
    InvoiceFactory(customer_id=links[with_invoice].erp_id)
    pushed = next(crm_id for crm_id, link in links.items() if link.erp_id == own.pk)
    for crm_id in (plain, with_invoice, pushed):
        sandbox.delete_record("Accounts", crm_id)

    run = sync(config)

    assert (run.status, run.deleted) == ("succeeded", 1)
    assert not Customer.objects.filter(pk=links[plain].erp_id).exists()
    assert not RecordLink.objects.filter(crm_id=plain).exists()
    kept = Customer.objects.get(pk=links[with_invoice].erp_id)
    assert not kept.is_active
    assert Customer.objects.get(pk=own.pk).is_active  # ERP-origin: never deleted by the CRM
    assert set(links_of(connection, "Accounts")) == set(links) - {plain, with_invoice, pushed}
    # ... and the kept records are not pushed back into the CRM.
    names = {r["Account_Name"] for r in Crm(sandbox).records("Accounts", ["Account_Name"]).values()}
    assert "Pushed from the ERP" not in names and kept.display_name not in names


def test_deleting_an_account_removes_its_customer_and_contact_persons(connection, sandbox):
    config = configure(connection, "customers", crm_source="accounts_and_contacts")
    sync(config)
    person_links = links_of(connection, "Contacts", "contact_person")
    persons = ContactPerson.objects.filter(pk__in=[link.erp_id for link in person_links.values()])
    customer_id = persons.values_list("customer_id", flat=True).first()
    account_id = RecordLink.objects.get(erp_model="customer", erp_id=customer_id).crm_id
    doomed = set(persons.filter(customer_id=customer_id).values_list("pk", flat=True))
    sandbox.delete_record("Accounts", account_id)

    run = sync(config)

    assert run.status == "succeeded" and run.deleted >= 1
    assert not Customer.objects.filter(pk=customer_id).exists()
    assert not ContactPerson.objects.filter(pk__in=doomed).exists()
    assert not RecordLink.objects.filter(erp_model="contact_person", erp_id__in=doomed).exists()


@pytest.mark.parametrize("orphans", [False, True], ids=["without-orphans", "with-orphans"])
def test_a_contact_moves_with_its_account_and_leaves_when_it_has_none(connection, sandbox, orphans):
    config = configure(connection, "customers", crm_source="accounts_and_contacts", include_orphan_contacts=orphans)
    sync(config)
    accounts = links_of(connection, "Accounts")
    people = links_of(connection, "Contacts", "contact_person")
    mover, leaver = list(people)[:2]
    current = ContactPerson.objects.get(pk=people[mover].erp_id).customer_id
    target_id = next(crm_id for crm_id, link in accounts.items() if link.erp_id != current)
    sandbox.edit_record("Contacts", mover, {"Account_Name": {"id": target_id}})
    sandbox.edit_record("Contacts", leaver, {"Account_Name": None})

    run = sync(config)

    assert run.status == "succeeded"
    moved = ContactPerson.objects.get(pk=people[mover].erp_id)
    assert moved.customer_id == accounts[target_id].erp_id
    assert not ContactPerson.objects.filter(pk=people[leaver].erp_id).exists()
    link = RecordLink.objects.filter(crm_module="Contacts", crm_id=leaver).first()
    if orphans:
        assert link.erp_model == "customer"
        assert Customer.objects.get(pk=link.erp_id).customer_type == "individual"
    else:
        assert link is None
        assert SyncIssue.objects.filter(run=run, crm_id=leaver, kind="skipped").exists()


def test_a_view_limits_the_records_and_its_cursor_moves_when_the_pass_is_complete(connection, crm, sandbox):
    technology = next(view["id"] for view in custom_views("Accounts") if view["name"] == "Technology Accounts")
    config = configure(connection, "customers", crm_source="accounts", crm_view_id=technology)

    run = sync(config)

    accounts = crm.records("Accounts", [*ACCOUNT_FIELDS, "Industry", "Modified_Time"])
    in_view = {crm_id for crm_id, record in accounts.items() if record.get("Industry") == "Technology"}
    assert run.status == "succeeded" and in_view
    assert set(links_of(connection, "Accounts")) == in_view
    config.refresh_from_db()
    largest = max(parse_time(accounts[crm_id]["Modified_Time"]) for crm_id in in_view)
    assert parse_time(config.crm_cursor["Accounts"]["modified"]) == largest
    outside = next(crm_id for crm_id in accounts if crm_id not in in_view)
    sandbox.edit_record("Accounts", outside, {"Industry": "Technology"})
    sync(config)
    assert outside in links_of(connection, "Accounts")


@pytest.mark.parametrize("offset", ["+05:30", "-05:00"])
def test_times_are_compared_as_instants_whatever_the_crm_offset(connection, crm, sandbox, offset):
    sandbox.config(utc_offset=offset)
    config = configure(connection, "customers", crm_source="accounts")
    sync(config)
    config.refresh_from_db()
    accounts = crm.records("Accounts", ["Modified_Time"])
    assert all(r["Modified_Time"].endswith(offset) for r in accounts.values())
    largest = max(parse_time(r["Modified_Time"]) for r in accounts.values())
    assert parse_time(config.crm_cursor["Accounts"]["modified"]) == largest
    # The CRM org moves to the other side of UTC: later edits still come, nothing else is re-read.
    sandbox.config(utc_offset="-05:00" if offset == "+05:30" else "+05:30")
    edited = list(accounts)[0]
    sandbox.edit_record("Accounts", edited, {"Phone": "+1 555 1234"})

    run = sync(config)

    link = links_of(connection, "Accounts")[edited]
    assert run.updated == 1 and Customer.objects.get(pk=link.erp_id).phone == "+1 555 1234"
    assert run.progress_done < len(accounts) / 2
    assert link.crm_modified_time == parse_time(sandbox.get_record("Accounts", edited)["Modified_Time"])


@pytest.fixture(scope="module")
def crowded_crm():
    """A sandbox of its own with 700 accounts whose page_token chains stop at record 100."""
    with SandboxProcess(seed="demo", seed_size="accounts=700,contacts=0,vendors=0,products=0") as process:
        yield process


def crowded_connection(crowded_crm, actors):
    client = sandbox_client(crowded_crm)
    return services.connection_create(
        organization=actors.organization, user=actors.admin, crm_org=client.org(), api_domain=crowded_crm.base_url,
        accounts_url=crowded_crm.base_url, client_id=crowded_crm.client_id, client_secret=crowded_crm.client_secret,
        refresh_token=crowded_crm.refresh_token)


def test_a_page_token_chain_that_hits_the_window_restarts_from_the_last_time_seen(crowded_crm, actors, settings):
    settings.CRM_ALLOW_LOOPBACK = True
    crowded_crm.reset()
    crowded_crm.config(page_token_ceiling=100)
    connection = crowded_connection(crowded_crm, actors)
    config = configure(connection, "customers", crm_source="accounts")
    crowded_crm.reset_calls()

    run = sync(config)

    assert (run.status, run.failure_reason) == ("succeeded", "")
    calls = crowded_crm.calls()
    # One chain would take ceil(700 / 200) = 4 calls; each chain here ends with a refused page_token.
    assert calls["calls"]["GET /crm/v8/Accounts"] > 4
    crowded_crm.config(page_token_ceiling=100000)
    accounts = Crm(crowded_crm).records("Accounts", ACCOUNT_FIELDS)
    assert len(accounts) == 700
    links = links_of(connection, "Accounts")
    assert set(links) == set(accounts)
    assert mismatches(accounts, links, default_pairs("customer", "Accounts", set(ACCOUNT_FIELDS))) == []
    assert Customer.objects.filter(organization=actors.organization).count() == 700


def test_a_view_past_the_page_token_window_is_read_by_searches_in_time_windows(crowded_crm, actors, settings,
                                                                               monkeypatch):
    """A view cannot be sorted, so a chain cut at the window cannot restart from a time: the view is read
    again by searches for Modified_Time ranges, halved until each fits under the search ceiling."""
    settings.CRM_ALLOW_LOOPBACK = True
    crowded_crm.reset()
    crowded_crm.config(page_token_ceiling=20, discrete_ceiling=30)
    monkeypatch.setattr("sync.engine.view_windows.SEARCH_CEILING", 30)
    connection = crowded_connection(crowded_crm, actors)
    technology = next(view["id"] for view in custom_views("Accounts") if view["name"] == "Technology Accounts")
    config = configure(connection, "customers", crm_source="accounts", crm_view_id=technology)
    crowded_crm.reset_calls()

    run = sync(config)

    assert (run.status, run.failure_reason) == ("succeeded", "")
    calls = crowded_crm.calls()["calls"]
    crowded_crm.config(page_token_ceiling=100000, discrete_ceiling=2000)  # for reading the CRM side here
    accounts = Crm(crowded_crm).records("Accounts", [*ACCOUNT_FIELDS, "Industry"])
    in_view = {crm_id: record for crm_id, record in accounts.items() if record.get("Industry") == "Technology"}
    assert len(in_view) > 60  # more than two searches' worth: the windows were halved
    assert calls["GET /crm/v8/Accounts/search"] >= 3
    links = links_of(connection, "Accounts")
    assert set(links) == set(in_view)
    assert mismatches(in_view, links, default_pairs("customer", "Accounts", set(ACCOUNT_FIELDS))) == []

    edited = next(iter(in_view))
    crowded_crm.edit_record("Accounts", edited, {"Phone": "+1 555 7777"})
    crowded_crm.config(page_token_ceiling=20, discrete_ceiling=30)
    again = sync(config)  # the cursor is where the windows ended: the next listing reads what came after
    assert (again.status, again.updated) == ("succeeded", 1)
    assert Customer.objects.get(pk=links[edited].erp_id).phone == "+1 555 7777"
    crowded_crm.config(page_token_ceiling=100000, discrete_ceiling=2000)


def test_a_page_token_that_expires_between_two_pages_restarts_the_chain_and_the_run_completes(
        crowded_crm, actors, settings, monkeypatch):
    settings.CRM_ALLOW_LOOPBACK = True
    crowded_crm.reset()
    connection = crowded_connection(crowded_crm, actors)
    config = configure(connection, "customers", crm_source="accounts")
    applied = fetch.apply_records
    pages = []

    def apply_then_expire(*args, **kwargs):
        counts = applied(*args, **kwargs)
        pages.append(counts)
        if len(pages) == 1:  # a day goes by after the first page: every token handed out so far is dead
            crowded_crm.expire_page_tokens()
        return counts

    monkeypatch.setattr(fetch, "apply_records", apply_then_expire)
    crowded_crm.reset_calls()

    run = sync(config)

    assert (run.status, run.failure_reason) == ("succeeded", "")
    # One chain takes ceil(700 / 200) = 4 calls; the refused page and the new chain come on top.
    assert crowded_crm.calls()["calls"]["GET /crm/v8/Accounts"] > 4
    accounts = Crm(crowded_crm).records("Accounts", ACCOUNT_FIELDS)
    links = links_of(connection, "Accounts")
    assert set(links) == set(accounts) and len(accounts) == 700
    assert mismatches(accounts, links, default_pairs("customer", "Accounts", set(ACCOUNT_FIELDS))) == []
