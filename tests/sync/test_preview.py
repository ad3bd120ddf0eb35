"""The preview of a first sync: the same counts the sync then makes, nothing written meanwhile, possible
duplicates suggested, and the admin's decisions honoured by the first sync."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import ContactPerson, Customer
from integration.models import ModuleConfig
from items.models import Item
from sync import previews
from sync.models import Decision, DuplicateSuggestion, RecordLink, SyncRun
from tests.factories import CustomerFactory, ItemFactory
from tests.integration.test_configure import form_data
from tests.sandbox import crm_records, sandbox_client

from .checks import links_of
from .conftest import configure, sync

WRITES = ("POST /crm/v8", "PUT /crm/v8", "PATCH /crm/v8", "DELETE /crm/v8", "POST /crm/bulk")


def erp_state(organization) -> tuple:
    customers = tuple(Customer.objects.filter(organization=organization).order_by("pk").values_list(
        "pk", "display_name", "email", "crm_linked", "updated_at"))
    people = tuple(ContactPerson.objects.filter(customer__organization=organization).order_by("pk").values_list("pk"))
    return customers, people, RecordLink.objects.count(), SyncRun.objects.count(), tuple(
        ModuleConfig.objects.order_by("pk").values_list("crm_cursor", "next_run_at"))


def start(config):
    return previews.start(config, background=lambda preview_id: pytest.fail("a small preview runs at once"))


def counts_of(found) -> dict:
    return {k: v for k, v in found.result["counts"].items() if v}


@pytest.mark.parametrize("source", ["accounts", "contacts", "accounts_and_contacts"])
@pytest.mark.parametrize("action", ["clone", "overwrite", "skip"])
def test_a_preview_counts_what_the_first_sync_then_does_and_writes_nothing(connection, sandbox, actors, source,
                                                                           action):
    crm = sandbox_client(sandbox)
    accounts = list(crm_records(crm, "Accounts", fields=["Account_Name"]))[:2]
    contacts = [c for c in crm_records(crm, "Contacts", fields=["First_Name", "Last_Name"]) if c.get("Last_Name")][:2]
    for account in accounts:
        CustomerFactory(organization=actors.organization, display_name=account["Account_Name"])
    for contact in contacts:
        CustomerFactory(organization=actors.organization, customer_type="individual", first_name="", last_name="",
                        display_name=f"{contact.get('First_Name') or ''} {contact['Last_Name']}".strip())
    sandbox.create_record("Accounts", {"Account_Name": "   "})  # one the ERP refuses
    config = configure(connection, "customers", crm_source=source, duplicate_action=action,
                       include_orphan_contacts=source == "accounts_and_contacts")
    before = erp_state(actors.organization)
    sandbox.reset_calls()

    found = start(config)

    assert found.status == "done", found.failure_reason
    assert erp_state(actors.organization) == before
    assert not [c for c in sandbox.calls()["calls"] if c.startswith(WRITES)]
    counts = counts_of(found)
    run = sync(config)
    made = counts.get("create", 0) + counts.get("clone", 0)
    linked = sum(counts.get(k, 0) for k in ("link_erp_id", "link_suggestion", "link_duplicate"))
    assert (run.added, run.updated, run.skipped, run.failed) == (
        made, linked, counts.get("skip", 0), counts.get("error", 0)), counts
    assert counts.get("error") == (1 if source != "contacts" else None)
    assert (counts.get("link_duplicate", 0) > 0) == (action == "overwrite")
    assert (counts.get("skip", 0) > 0) == (action == "skip")
    assert (counts.get("clone", 0) > 0) == (action == "clone")


def test_both_ways_the_preview_counts_what_would_be_pushed(connection, sandbox, actors):
    CustomerFactory(organization=actors.organization, display_name="Only Here Ltd")
    CustomerFactory(organization=actors.organization, customer_type="individual", first_name="Ana", last_name="Only",
                    display_name="Ana Only")
    config = configure(connection, "customers", direction="both")
    found = start(config)
    assert found.result["counts"]["push"] == 2
    assert {s["label"] for s in found.result["samples"]["push"]} == {"Only Here Ltd", "Ana Only"}
    assert sync(config).pushed == 2


def test_possible_duplicates_are_suggested_and_the_decisions_are_honoured_by_the_first_sync(connection, sandbox,
                                                                                           actors):
    same = CustomerFactory(organization=actors.organization, display_name="Müller Bäckerei GmbH")
    other = CustomerFactory(organization=actors.organization, display_name="Northwind Traders Limited")
    twin = CustomerFactory(organization=actors.organization, display_name="Exact Twin Co")
    one = sandbox.create_record("Accounts", {"Account_Name": "MULLER BACKEREI GMBH"})
    two = sandbox.create_record("Accounts", {"Account_Name": "Northwind Traders Ltd"})
    three = sandbox.create_record("Accounts", {"Account_Name": "Exact Twin Co"})
    friend = sandbox.create_record("Accounts", {"Account_Name": "Northwind Textiles Ltd"})
    config = configure(connection, "customers", duplicate_action="clone")

    found = start(config)

    suggested = {s.crm_id: s for s in DuplicateSuggestion.objects.filter(module_config=config)}
    assert suggested[one["id"]].erp_id == same.pk and suggested[two["id"]].erp_id == other.pk
    assert suggested[three["id"]].erp_id == twin.pk and friend["id"] not in suggested
    assert found.result["suggestions"] == len(suggested)
    admin = actors.client_for(actors.admin)
    admin.post(reverse("sync:preview_decide", args=["customers"]), {"decision": "accepted",
                                                                    "suggestion": suggested[one["id"]].pk})
    admin.post(reverse("sync:preview_decide", args=["customers"]), {"decision": "accepted",
                                                                    "suggestion": suggested[two["id"]].pk})
    admin.post(reverse("sync:preview_decide", args=["customers"]), {"decision": "rejected",
                                                                    "suggestion": suggested[three["id"]].pk})
    again = start(config)
    assert again.result["counts"]["link_suggestion"] == 2

    run = sync(config)

    links = links_of(connection, "Accounts")
    assert links[one["id"]].erp_id == same.pk and links[two["id"]].erp_id == other.pk
    assert links[three["id"]].erp_id != twin.pk  # rejected: two parties, even with the same name
    assert Customer.objects.filter(organization=actors.organization, display_name="Exact Twin Co").count() == 2
    decided = DuplicateSuggestion.objects.filter(module_config=config).exclude(decision=Decision.PENDING)
    run.refresh_from_db()
    assert {s.used_by_id for s in decided} == {run.pk} and "decided before the sync: applied" in run.notes
    page = admin.get(reverse("sync:preview", args=["customers"]))
    assert f"run {run.pk}" in page.text and actors.admin.username in page.text


def test_items_both_ways_an_accepted_suggestion_keeps_the_erps_values_and_sends_them(connection, sandbox, actors,
                                                                                      crm):
    mine = ItemFactory(organization=actors.organization, name="Widget Pro 3000", sku="WP-3000", rate=Decimal("10.00"))
    theirs = sandbox.create_record("Products", {"Product_Name": "WIDGET PRO-3000", "Product_Code": "WP3000",
                                                "Unit_Price": 25})
    config = configure(connection, "items", direction="both", duplicate_action="clone")
    start(config)
    suggestion = DuplicateSuggestion.objects.get(module_config=config, crm_id=theirs["id"])
    assert suggestion.erp_id == mine.pk and "SKU" in suggestion.agree
    actors.client_for(actors.admin).post(reverse("sync:preview_decide", args=["items"]),
                                         {"decision": "accepted", "suggestion": suggestion.pk})

    assert sync(config).status == "succeeded"

    # Linked, not pushed as a second product before the fetch; the ERP goes first for items both ways.
    assert links_of(connection, "Products")[theirs["id"]].erp_id == mine.pk
    mine.refresh_from_db()
    assert (mine.name, mine.sku, mine.rate) == ("Widget Pro 3000", "WP-3000", Decimal("10.00"))
    products = crm.records("Products", ["Product_Name", "Product_Code", "Unit_Price"])
    assert [p["id"] for p in products.values() if "widget" in p["Product_Name"].casefold()] == [theirs["id"]]
    assert (products[theirs["id"]]["Product_Name"], products[theirs["id"]]["Product_Code"],
            float(products[theirs["id"]]["Unit_Price"])) == ("Widget Pro 3000", "WP-3000", 10.0)
    assert Item.objects.filter(organization=actors.organization, name__icontains="widget").count() == 1


def test_accept_all_above_a_score_and_only_admins_decide(connection, sandbox, actors):
    CustomerFactory(organization=actors.organization, display_name="Acme Trading Limited")
    sandbox.create_record("Accounts", {"Account_Name": "ACME Trading Ltd"})
    config = configure(connection, "customers", duplicate_action="skip")
    start(config)
    finance = actors.client_for(actors.finance)
    assert finance.post(reverse("sync:preview_decide", args=["customers"]),
                        {"decision": "accepted", "at_least": "90"}).status_code == 403
    actors.client_for(actors.admin).post(reverse("sync:preview_decide", args=["customers"]),
                                         {"decision": "accepted", "at_least": "90"})
    assert set(DuplicateSuggestion.objects.values_list("decision", flat=True)) == {"accepted"}


def test_the_configure_page_preview_saves_without_syncing_and_save_and_sync_confirms(
        connection, sandbox, actors, django_capture_on_commit_callbacks):
    admin = actors.client_for(actors.admin)
    page = admin.get(reverse("integration:configure", args=["vendors"]))
    assert 'value="preview"' in page.text
    data = form_data(page, save="preview")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("integration:configure", args=["vendors"]), data, follow=True)
    config = ModuleConfig.objects.get(connection=connection, module="vendors")
    assert not config.configured and config.next_run_at is None and not SyncRun.objects.exists()
    assert response.request["PATH_INFO"] == reverse("sync:preview", args=["vendors"])
    assert "Created here" in response.text
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("sync:preview_sync", args=["vendors"]))
    config.refresh_from_db()
    assert config.configured and SyncRun.objects.get(module_config=config).trigger == "initial"


def test_crm_configure_preview_prints_the_counts(connection, sandbox, actors, django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
            call_command("crm_configure", "--org", actors.organization.name, "--module", "vendors", "--auto-map",
                     "--preview", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["preview"]["counts"]["create"] == len(list(crm_records(sandbox_client(sandbox), "Vendors",
                                                                         fields=["Vendor_Name"])))
    assert not RecordLink.objects.exists()


def test_a_large_preview_runs_in_the_background_with_progress(connection, sandbox, monkeypatch):
    monkeypatch.setattr(previews, "INLINE_LIMIT", 10)
    config = configure(connection, "vendors")
    sent = []
    found = previews.start(config, background=sent.append)
    assert found.status == "running" and found.progress_total > 10
    assert sent == [] or sent == [found.pk]
    done = previews.run(found.pk)
    assert done.status == "done" and done.progress_done == found.progress_total
