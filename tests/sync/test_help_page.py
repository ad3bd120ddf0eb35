"""The vendor help page's rules where the first version differed: duplicates of contacts found by name,
customers following their type both ways, items going first, metrics only where the connection may write,
a re-sync of a record deleted in the CRM saying so, and what a run's issues say in a user's words."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from customers.models import Customer
from integration.models import CrmConnection
from items.models import Item
from sync import metrics, tasks
from sync.models import RecordLink, SyncIssue, SyncRun
from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory

from .checks import account_with_contacts, links_of
from .conftest import configure, sync


def orphan_contact(sandbox) -> dict:
    """A CRM contact without an account, made for the test."""
    return sandbox.create_record("Contacts", {"First_Name": "Ines", "Last_Name": "Duarte", "Email": "ines@x.test"})


# --- 1. Duplicates of contacts -------------------------------------------------------------------------------


def test_with_the_contacts_source_skip_finds_the_individual_customer_by_first_and_last_name(connection, sandbox):
    contact = orphan_contact(sandbox)
    existing = CustomerFactory(organization=connection.organization, customer_type="individual",
                               display_name=" ines DUARTE", first_name="", last_name="")
    config = configure(connection, "customers", crm_source="contacts", duplicate_action="skip")

    run = sync(config)

    assert run.status == "succeeded"
    assert not Customer.objects.filter(organization=connection.organization, display_name="Ines Duarte").exists()
    issue = SyncIssue.objects.get(run=run, crm_id=contact["id"])
    assert issue.kind == "skipped" and "individual" not in issue.message
    assert issue.message.startswith("A customer with the same first and last name already exists here")
    assert Customer.objects.get(pk=existing.pk).display_name == " ines DUARTE"


def test_with_the_contacts_source_overwrite_links_the_individual_customer_and_fills_its_display_name(connection,
                                                                                                 sandbox):
    contact = orphan_contact(sandbox)
    existing = CustomerFactory(organization=connection.organization, customer_type="individual",
                               display_name="Ines Duarte", first_name="", last_name="")
    config = configure(connection, "customers", crm_source="contacts", duplicate_action="overwrite")

    sync(config)

    link = links_of(connection, "Contacts")[contact["id"]]
    assert link.erp_id == existing.pk
    existing.refresh_from_db()
    assert (existing.first_name, existing.last_name, existing.display_name) == ("Ines", "Duarte", "Ines Duarte")
    assert Customer.objects.filter(organization=connection.organization, customer_type="individual",
                                   display_name="Ines Duarte").count() == 1


def test_orphan_contacts_find_their_individual_customer_too(connection, sandbox):
    contact = orphan_contact(sandbox)
    existing = CustomerFactory(organization=connection.organization, customer_type="individual",
                               display_name="Ines Duarte")
    config = configure(connection, "customers", crm_source="accounts_and_contacts", include_orphan_contacts=True,
                       duplicate_action="overwrite")

    sync(config)

    assert links_of(connection, "Contacts")[contact["id"]].erp_id == existing.pk


def test_the_configure_page_says_what_is_compared_for_each_source(actors, connection, sandbox):
    admin_client = actors.client_for(actors.admin)
    pages = {source: admin_client.get(reverse("integration:configure", args=["customers"]),
                                      {"crm_source": source}).content.decode()
             for source in ("accounts", "contacts", "accounts_and_contacts")}
    assert "comparing the CRM Account Name with the display name of the business customers" in pages["accounts"]
    assert "First Name and Last Name with the display name of the individual customers" in pages["contacts"]
    assert "Contacts without an account (when included) are compared by First Name and Last Name" in \
        pages["accounts_and_contacts"]


# --- 3. Both ways, customers follow their type ------------------------------------------------------------------


def test_with_the_accounts_source_an_individual_customer_goes_to_contacts(connection, crm, sandbox):
    person = CustomerFactory(organization=connection.organization, customer_type="individual",
                             display_name="Lena Weber", first_name="Lena", last_name="Weber", email="lena@x.test")
    business = CustomerFactory(organization=connection.organization, display_name="Weber Optics GmbH")
    config = configure(connection, "customers", crm_source="accounts", direction="both")

    run = sync(config)

    assert run.status == "succeeded" and run.pushed == 2
    contacts = {r["Last_Name"]: r for r in crm.records("Contacts", ["First_Name", "Last_Name", "Email", "ERP_Id"]).values()}
    assert contacts["Weber"]["First_Name"] == "Lena" and contacts["Weber"]["Email"] == "lena@x.test"
    assert contacts["Weber"]["ERP_Id"].endswith(f"-customer-{person.pk}")
    assert RecordLink.objects.get(erp_model="customer", erp_id=person.pk).crm_module == "Contacts"
    assert RecordLink.objects.get(erp_model="customer", erp_id=business.pk).crm_module == "Accounts"
    # Nothing goes twice.
    sandbox.reset_calls()
    assert sync(config).pushed == 0


def test_with_the_contacts_source_a_business_customer_goes_to_accounts(connection, crm, sandbox):
    business = CustomerFactory(organization=connection.organization, display_name="Weber Optics GmbH")
    config = configure(connection, "customers", crm_source="contacts", direction="both")

    run = sync(config)

    assert run.status == "succeeded"
    names = {r["Account_Name"] for r in crm.records("Accounts", ["Account_Name"]).values()}
    assert "Weber Optics GmbH" in names
    assert RecordLink.objects.get(erp_model="customer", erp_id=business.pk).crm_module == "Accounts"


def test_with_accounts_and_contacts_without_orphans_an_individual_customer_goes_to_contacts_and_stays(connection,
                                                                                                     crm, sandbox):
    person = CustomerFactory(organization=connection.organization, customer_type="individual",
                             display_name="Lena Weber", first_name="Lena", last_name="Weber")
    config = configure(connection, "customers", crm_source="accounts_and_contacts", direction="both")

    first = sync(config)
    second = sync(config)  # the contact comes back in the Contacts pass: still that individual customer

    assert first.status == second.status == "succeeded"
    link = RecordLink.objects.get(erp_model="customer", erp_id=person.pk)
    assert link.crm_module == "Contacts" and link.origin == "erp"
    assert Customer.objects.get(pk=person.pk).is_active
    assert second.pushed == 0 and not SyncIssue.objects.filter(run=second, crm_id=link.crm_id).exists()


def test_a_push_only_contact_deleted_in_the_crm_is_unlinked_and_kept(connection, crm, sandbox):
    person = CustomerFactory(organization=connection.organization, customer_type="individual",
                             display_name="Lena Weber", first_name="Lena", last_name="Weber")
    config = configure(connection, "customers", crm_source="accounts", direction="both")
    sync(config)
    crm_id = RecordLink.objects.get(erp_model="customer", erp_id=person.pk).crm_id
    sandbox.delete_record("Contacts", crm_id)

    sync(config)

    assert Customer.objects.filter(pk=person.pk).exists()
    assert RecordLink.objects.get(crm_id=crm_id).crm_deleted_at is not None  # never pushed back


# --- 4. Items both ways: the ERP goes first ------------------------------------------------------------------


def test_new_items_go_to_the_crm_before_the_fetch(connection, crm, sandbox, monkeypatch):
    ItemFactory(organization=connection.organization, name="Standing desk XL", sku="DESK-XL")
    config = configure(connection, "items", direction="both", duplicate_action="overwrite")
    order = []
    from sync.engine import fetch, push

    real_fetch, real_push_new = fetch.fetch, push._push_new
    monkeypatch.setattr(fetch, "fetch", lambda ctx, read: (order.append("fetch"), real_fetch(ctx, read))[1])
    monkeypatch.setattr(push, "_push_new", lambda ctx, adapter, objects: (
        order.append(("push new", [o.name for o in objects])), real_push_new(ctx, adapter, objects))[1])

    run = sync(config)

    assert run.status == "succeeded"
    assert order[0] == ("push new", ["Standing desk XL"]) and order[1] == "fetch"
    products = {r["Product_Name"]: r for r in crm.records("Products", ["Product_Name", "ERP_Id"]).values()}
    assert products["Standing desk XL"]["ERP_Id"].endswith("-item-" + str(Item.objects.get(sku="DESK-XL").pk))


def test_a_new_item_named_like_a_crm_product_waits_for_the_fetchs_duplicate_rule(connection, crm, sandbox):
    product = next(iter(crm.records("Products", ["Product_Name", "Product_Code"]).values()))
    mine = ItemFactory(organization=connection.organization, name=product["Product_Name"].upper(), sku="MINE-1")
    config = configure(connection, "items", direction="both", duplicate_action="overwrite")

    run = sync(config)

    assert run.status == "succeeded"
    # Overwrite linked the two; the CRM has not got a second product of that name.
    assert links_of(connection, "Products")[product["id"]].erp_id == mine.pk
    names = [r["Product_Name"].casefold() for r in crm.records("Products", ["Product_Name"]).values()]
    assert names.count(product["Product_Name"].casefold()) == 1


# --- 5. Accounting metrics are a write ----------------------------------------------------------------------


def linked_customer(connection, sandbox):
    from sync import importing

    account, _ = account_with_contacts(sandbox)
    customer, _ = importing.import_record(connection=connection, crm_module="Accounts", crm_id=account["id"])
    return customer, account["id"]


def test_a_one_way_connection_never_writes_metrics(connection, sandbox, django_capture_on_commit_callbacks):
    configure(connection, "customers", crm_source="accounts")
    CrmConnection.objects.filter(pk=connection.pk).update(two_way_allowed=False)
    customer, account_id = linked_customer(connection, sandbox)
    sandbox.reset_calls()

    with django_capture_on_commit_callbacks() as queued:
        InvoiceFactory(customer=customer, total=Decimal("500.00"), balance=Decimal("500.00"))
    CrmConnection.objects.filter(pk=connection.pk).update(metrics_due_at="2026-01-01T00:00:00Z")  # as if due
    outcome = tasks.push_customer_metrics(connection.pk)

    assert queued == [] and outcome == "one-way"
    assert "ERP_Total_Sales" not in sandbox.get_record("Accounts", account_id)
    assert not any(call.startswith(("PUT", "POST /crm/v8/settings")) for call in sandbox.calls()["calls"])
    assert not SyncRun.objects.filter(trigger="metrics").exists()


def test_a_paused_customers_module_pauses_its_metrics_until_it_is_resumed(connection, sandbox):
    config = configure(connection, "customers", crm_source="accounts", paused=True)
    customer, account_id = linked_customer(connection, sandbox)
    InvoiceFactory(customer=customer, total=Decimal("250.00"), balance=Decimal("250.00"))
    CrmConnection.objects.filter(pk=connection.pk).update(metrics_due_at="2026-01-01T00:00:00Z")

    assert tasks.push_customer_metrics(connection.pk) == "paused"
    assert "ERP_Total_Sales" not in sandbox.get_record("Accounts", account_id)
    assert CrmConnection.objects.get(pk=connection.pk).metrics_due_at is not None  # still due
    tasks.tick()  # the tick does not keep sending it while paused
    assert not SyncRun.objects.filter(trigger="metrics").exists()

    config.paused = False
    config.save()
    assert tasks.push_customer_metrics(connection.pk) == "succeeded"
    assert Decimal(str(sandbox.get_record("Accounts", account_id)["ERP_Total_Sales"])) == Decimal("250")
    assert metrics.metrics_due(connection_id=connection.pk)  # a two-way connection can be due again


# --- 10. Re-sync of a record deleted in the CRM ---------------------------------------------------------------


def test_resync_of_a_record_deleted_in_the_crm_says_so(actors, connection, sandbox):
    config = configure(connection, "customers", crm_source="accounts")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    InvoiceFactory(customer_id=link.erp_id)  # transactions: kept here when the CRM record goes
    sandbox.delete_record("Accounts", crm_id)
    client = actors.client_for(actors.finance)

    response = client.post(reverse("sync:resync", args=["customer", link.erp_id]), follow=True)

    page = response.content.decode()
    assert "The record no longer exists in Zoho CRM" in page and "it has transactions" in page
    assert Customer.objects.get(pk=link.erp_id).is_active is False
    again = client.post(reverse("sync:resync", args=["customer", link.erp_id]), follow=True).content.decode()
    assert "Zoho CRM record was deleted on" in again and 'data-testid="crm-deleted"' in again


def test_resync_of_a_deleted_record_without_transactions_deletes_it_here_and_says_so(actors, connection, sandbox):
    config = configure(connection, "customers", crm_source="accounts")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    sandbox.delete_record("Accounts", crm_id)

    response = actors.client_for(actors.finance).post(reverse("sync:resync", args=["customer", link.erp_id]),
                                                      follow=True)

    assert response.redirect_chain[-1][0] == reverse("customers:list")
    assert "so this customer was deleted here too" in response.content.decode()
    assert not Customer.objects.filter(pk=link.erp_id).exists()


def test_resync_that_works_says_so(actors, connection, sandbox):
    config = configure(connection, "vendors")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Vendors").items()))
    sandbox.edit_record("Vendors", crm_id, {"City": "Porto"})
    response = actors.client_for(actors.finance).post(reverse("sync:resync", args=["vendor", link.erp_id]),
                                                      follow=True)
    assert "Re-synced from Zoho CRM." in response.content.decode()


# --- 13. Words -------------------------------------------------------------------------------------------------


def test_issues_name_fields_as_people_call_them(connection, sandbox):
    account = sandbox.create_record("Accounts", {"Account_Name": "Shared Name Ltd"})
    CustomerFactory(organization=connection.organization, display_name="Shared Name Ltd")
    config = configure(connection, "customers", crm_source="accounts", duplicate_action="skip")

    run = sync(config)

    issue = SyncIssue.objects.get(run=run, crm_id=account["id"])
    assert issue.message == ("A customer with the same display name already exists here (Shared Name Ltd); the "
                             "duplicate rule is Skip, so neither was changed.")
