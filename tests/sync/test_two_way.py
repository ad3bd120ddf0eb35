"""Two-way sync: ERP records go to the CRM keyed by their ERP id, one-sided changes are copied, changes on
both sides are conflicts won by the module's first side, and our own writes never come back as changes."""

from __future__ import annotations

from decimal import Decimal

from customers.models import ContactPerson, Customer
from items.models import Item
from sync.models import RecordLink, SyncIssue
from tests.factories import ContactPersonFactory, CustomerFactory, ItemFactory

from .checks import default_pairs, links_of, mismatches
from .conftest import configure, sync
from .test_exactness import ACCOUNT_FIELDS, CONTACT_FIELDS, PRODUCT_FIELDS


def writes(sandbox) -> dict:
    """The CRM write calls since the counters were reset."""
    return {call: n for call, n in sandbox.calls()["calls"].items()
            if call.startswith(("POST /crm", "PUT /crm", "DELETE /crm")) and "oauth" not in call}


def stamps(model) -> dict:
    return dict(model.objects.values_list("pk", "updated_at"))


def test_erp_customers_go_to_the_crm_once_and_nothing_comes_back(connection, crm, sandbox):
    org = connection.organization
    own = [CustomerFactory(organization=org, display_name=f"Made in the ERP {n}", phone=f"+1 555 000{n}",
                           billing_city="Lisbon") for n in range(3)]
    config = configure(connection, "customers", crm_source="accounts", direction="both")

    first = sync(config)

    assert (first.status, first.pushed) == ("succeeded", 3)
    accounts = crm.records("Accounts", [*ACCOUNT_FIELDS, "ERP_Id"])
    links = links_of(connection, "Accounts")
    assert set(links) == set(accounts)
    assert mismatches(accounts, links, default_pairs("customer", "Accounts", set(ACCOUNT_FIELDS))) == []
    pushed = {r["ERP_Id"]: r for r in accounts.values() if r.get("ERP_Id")}
    assert set(pushed) == {f"{org.pk}-customer-{c.pk}" for c in own}
    assert {links[r["id"]].origin for r in pushed.values()} == {"erp"}

    sandbox.reset_calls()
    before = stamps(Customer)
    second = sync(config)

    assert second.status == "succeeded"
    assert writes(sandbox) == {}
    assert stamps(Customer) == before
    assert (second.added, second.updated, second.pushed, second.conflicts) == (0, 0, 0, 0)


def test_a_replayed_push_updates_the_record_it_created(connection, crm, sandbox):
    """A crash between the CRM's write and our link: the next run upserts by ERP id again."""
    customer = CustomerFactory(organization=connection.organization, display_name="Replay Ltd")
    config = configure(connection, "customers", crm_source="accounts", direction="both")
    sync(config)
    RecordLink.objects.filter(connection=connection, erp_model="customer", erp_id=customer.pk).delete()

    run = sync(config)

    assert run.status == "succeeded"
    same = [r for r in crm.records("Accounts", ["Account_Name", "ERP_Id"]).values() if r["Account_Name"] == "Replay Ltd"]
    assert len(same) == 1
    assert RecordLink.objects.get(erp_model="customer", erp_id=customer.pk).crm_id == same[0]["id"]


def test_one_sided_changes_are_copied_and_a_conflict_keeps_both_values_crm_first(connection, crm, sandbox):
    config = configure(connection, "customers", crm_source="accounts", direction="both")
    sync(config)
    links = links_of(connection, "Accounts")
    a, b, c = list(links)[:3]
    sandbox.edit_record("Accounts", a, {"Phone": "+1 555 7777"})  # conflict below
    sandbox.edit_record("Accounts", b, {"Website": "www.changed-in-crm.test"})  # CRM only
    Customer.objects.get(pk=links[a].erp_id).__class__.objects.filter(pk=links[a].erp_id)
    for pk, changes in ((links[a].erp_id, {"phone": "+1 555 8888"}), (links[c].erp_id, {"billing_city": "Porto"})):
        customer = Customer.objects.get(pk=pk)
        for name, value in changes.items():
            setattr(customer, name, value)
        customer.save()

    run = sync(config)

    assert (run.status, run.conflicts) == ("succeeded", 1)
    [conflict] = SyncIssue.objects.filter(run=run, kind="conflict")
    assert (conflict.crm_id, conflict.field, conflict.crm_value, conflict.erp_value) == (
        a, "phone", "+1 555 7777", "+1 555 8888")
    assert Customer.objects.get(pk=links[a].erp_id).phone == "+1 555 7777"  # the CRM won
    assert Customer.objects.get(pk=links[b].erp_id).website == "www.changed-in-crm.test"
    assert sandbox.get_record("Accounts", c)["Billing_City"] == "Porto"
    assert sandbox.get_record("Accounts", a)["Phone"] == "+1 555 7777"

    sandbox.reset_calls()
    before = stamps(Customer)
    again = sync(config)
    assert writes(sandbox) == {} and stamps(Customer) == before and again.conflicts == 0


def test_items_conflicts_are_won_by_the_erp_and_pushed_before_the_fetch(connection, crm, sandbox):
    config = configure(connection, "items", direction="both", duplicate_key="sku", duplicate_action="overwrite")
    sync(config)
    links = links_of(connection, "Products")
    first, second = list(links)[:2]
    sandbox.edit_record("Products", first, {"Unit_Price": 11.5})
    sandbox.edit_record("Products", second, {"Description": "Changed in the CRM"})
    Item.objects.filter(pk=links[first].erp_id).update(rate=Decimal("99.90"), updated_at=_later())

    run = sync(config)

    assert run.conflicts == 1
    [conflict] = SyncIssue.objects.filter(run=run, kind="conflict")
    assert (conflict.field, conflict.crm_value, conflict.erp_value) == ("rate", "11.5", "99.9")
    assert sandbox.get_record("Products", first)["Unit_Price"] == 99.9  # the ERP won
    assert Item.objects.get(pk=links[first].erp_id).rate == Decimal("99.90")
    assert Item.objects.get(pk=links[second].erp_id).description == "Changed in the CRM"

    sandbox.reset_calls()
    before = stamps(Item)
    again = sync(config)
    assert writes(sandbox) == {} and stamps(Item) == before and again.conflicts == 0


def test_new_erp_items_and_contact_persons_are_pushed_where_they_belong(connection, crm, sandbox):
    org = connection.organization
    item = ItemFactory(organization=org, name="ERP-only widget", sku="ERP-W-1", rate=Decimal("12.50"))
    items = configure(connection, "items", direction="both")
    customers = configure(connection, "customers", crm_source="accounts_and_contacts", direction="both")
    sync(customers)
    account_id, account_link = next(iter(links_of(connection, "Accounts").items()))
    person = ContactPersonFactory(customer_id=account_link.erp_id, first_name="Erin", last_name="Pushed",
                                  email="erin.pushed@example.test")

    sync(customers)
    sync(items)

    products = crm.records("Products", [*PRODUCT_FIELDS, "ERP_Id"])
    [widget] = [r for r in products.values() if r.get("ERP_Id") == f"{org.pk}-item-{item.pk}"]
    assert (widget["Product_Name"], widget["Product_Code"], widget["Unit_Price"]) == ("ERP-only widget", "ERP-W-1", 12.5)
    contacts = crm.records("Contacts", [*CONTACT_FIELDS, "ERP_Id"])
    [erin] = [r for r in contacts.values() if r.get("ERP_Id") == f"{org.pk}-contact_person-{person.pk}"]
    assert (erin["Last_Name"], erin["Email"], erin["Account_Name"]["id"]) == ("Pushed", "erin.pushed@example.test",
                                                                              account_id)
    assert ContactPerson.objects.filter(last_name="Pushed").count() == 1


def _later():
    import datetime

    from django.utils import timezone

    return timezone.now() + datetime.timedelta(seconds=1)


def test_an_individual_customer_without_a_last_name_reaches_the_crm_under_its_display_name(connection, crm, sandbox):
    customer = CustomerFactory(organization=connection.organization, customer_type="individual",
                               display_name="Madonna", first_name="", last_name="")
    config = configure(connection, "customers", crm_source="contacts", direction="both")

    first = sync(config)

    assert (first.status, first.pushed, first.failed) == ("succeeded", 1, 0)
    contact = next(r for r in crm.records("Contacts", ["Last_Name", "ERP_Id"]).values()
                   if r.get("ERP_Id") == f"{connection.organization.pk}-customer-{customer.pk}")
    assert contact["Last_Name"] == "Madonna"
    second = sync(config)  # the CRM's last name comes back; the name shown stays
    customer.refresh_from_db()
    assert (customer.last_name, customer.display_name) == ("Madonna", "Madonna")
    sandbox.reset_calls()
    third = sync(config)
    assert writes(sandbox) == {} and (second.failed, third.updated, third.pushed) == (0, 0, 0)
