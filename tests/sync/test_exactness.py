"""After a sync the ERP matches the CRM record for record and field for field under the mapping, for
every module and configuration choice. Both sides are read in full and compared (not counted)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_sandbox.schema import INDUSTRIES
from customers.models import ContactPerson, Customer
from items.models import Item
from organizations.models import CustomField
from sync.models import RecordLink, SyncIssue
from tests.factories import CustomerFactory, ItemFactory
from vendors.models import Vendor

from .checks import default_pairs, issues_for, links_of, mismatches
from .conftest import configure, sync

ACCOUNT_FIELDS = ["Account_Name", "Phone", "Website", "Description", *[f"{p}_{s}" for p in ("Billing", "Shipping")
                                                                       for s in ("Street", "City", "State", "Code",
                                                                                 "Country")]]
CONTACT_FIELDS = ["First_Name", "Last_Name", "Email", "Phone", "Mobile", "Salutation", "Title", "Description",
                  "Account_Name", *[f"Mailing_{s}" for s in ("Street", "City", "State", "Zip", "Country")]]
VENDOR_FIELDS = ["Vendor_Name", "Email", "Phone", "Website", "Street", "City", "State", "Zip_Code", "Country",
                 "Description"]
PRODUCT_FIELDS = ["Product_Name", "Product_Code", "Unit_Price", "Description", "Usage_Unit", "Product_Type"]


@pytest.mark.parametrize("action", ["clone", "overwrite", "skip"])
def test_accounts_become_business_customers_under_each_duplicate_rule(connection, crm, action):
    accounts = crm.records("Accounts", ACCOUNT_FIELDS)
    twins = list(accounts.values())[:3]
    org = connection.organization
    existing = {CustomerFactory(organization=org, display_name=f"  {r['Account_Name'].upper()} ", phone="0").pk: r["id"]
                for r in twins}
    stranger = CustomerFactory(organization=org, display_name="Not in the CRM")
    config = configure(connection, "customers", crm_source="accounts", duplicate_action=action)

    run = sync(config)

    assert (run.status, run.failure_reason) == ("succeeded", "")
    links = links_of(connection, "Accounts")
    assert mismatches(accounts, links, default_pairs("customer", "Accounts", set(ACCOUNT_FIELDS))) == []
    twin_ids = set(existing.values())
    if action == "skip":
        assert set(links) == set(accounts) - twin_ids
        assert set(issues_for(run, "skipped")) == twin_ids
        assert all(c.phone == "0" for c in Customer.objects.filter(pk__in=existing))
    else:
        assert set(links) == set(accounts)
        linked_to_existing = {links[crm_id].erp_id for crm_id in twin_ids}
        assert (linked_to_existing == set(existing)) == (action == "overwrite")
    expected_rows = {link.erp_id for link in links.values()} | set(existing) | {stranger.pk}
    assert set(Customer.objects.filter(organization=org).values_list("pk", flat=True)) == expected_rows
    assert not Customer.objects.filter(pk__in=[link.erp_id for link in links.values()], customer_type="individual")
    assert run.added == len(accounts) - (len(twins) if action != "clone" else 0)


def test_contacts_become_individual_customers(connection, crm):
    contacts = crm.records("Contacts", CONTACT_FIELDS)
    config = configure(connection, "customers", crm_source="contacts")

    run = sync(config)

    assert run.status == "succeeded"
    links = links_of(connection, "Contacts")
    assert set(links) == set(contacts)

    def named(record, customer):
        name = " ".join(p for p in (record.get("First_Name"), record.get("Last_Name")) if p)
        problems = [] if customer.display_name == name else [f"display_name {customer.display_name!r} != {name!r}"]
        return problems + ([] if customer.customer_type == "individual" else ["not an individual"])

    assert mismatches(contacts, links, default_pairs("customer", "Contacts", set(CONTACT_FIELDS)), derive=named) == []
    assert Customer.objects.filter(organization=connection.organization).count() == len(contacts)


@pytest.mark.parametrize("orphans", [False, True], ids=["without-orphans", "with-orphans"])
def test_accounts_and_their_contacts_become_customers_with_contact_persons(connection, crm, orphans):
    accounts = crm.records("Accounts", ACCOUNT_FIELDS)
    contacts = crm.records("Contacts", CONTACT_FIELDS)
    config = configure(connection, "customers", crm_source="accounts_and_contacts", include_orphan_contacts=orphans)

    run = sync(config)

    assert run.status == "succeeded"
    account_links = links_of(connection, "Accounts")
    assert set(account_links) == set(accounts)
    assert mismatches(accounts, account_links, default_pairs("customer", "Accounts", set(ACCOUNT_FIELDS))) == []
    with_account = {k: r for k, r in contacts.items() if r.get("Account_Name")}
    orphan_ids = set(contacts) - set(with_account)
    assert with_account and orphan_ids  # the demo data has both

    def belongs(record, person):
        customer_id = account_links[record["Account_Name"]["id"]].erp_id
        return [] if person.customer_id == customer_id else [f"under customer {person.customer_id}, not {customer_id}"]

    person_links = links_of(connection, "Contacts", "contact_person")
    assert set(person_links) == set(with_account)
    assert mismatches(contacts, person_links, default_pairs("contact_person", "Contacts", set(CONTACT_FIELDS)),
                      derive=belongs) == []
    orphan_links = links_of(connection, "Contacts", "customer")
    if orphans:
        assert set(orphan_links) == orphan_ids
        assert mismatches(contacts, orphan_links, default_pairs("customer", "Contacts", set(CONTACT_FIELDS))) == []
        assert not issues_for(run, "skipped")
    else:
        assert orphan_links == {}
        skipped = issues_for(run, "skipped")
        assert set(skipped) == orphan_ids
        assert all("account is not synced" in issue.message for issues in skipped.values() for issue in issues)
    # One primary contact person per customer that has any.
    persons = ContactPerson.objects.filter(customer__organization=connection.organization)
    for customer_id in set(persons.values_list("customer_id", flat=True)):
        assert persons.filter(customer_id=customer_id, is_primary=True).count() == 1
    assert Customer.objects.filter(organization=connection.organization).count() == (
        len(accounts) + (len(orphan_ids) if orphans else 0))


def test_vendors_become_vendors(connection, crm):
    vendors = crm.records("Vendors", VENDOR_FIELDS)
    config = configure(connection, "vendors")

    run = sync(config)

    assert run.status == "succeeded"
    links = links_of(connection, "Vendors")
    assert set(links) == set(vendors)
    assert mismatches(vendors, links, default_pairs("vendor", "Vendors", set(VENDOR_FIELDS))) == []
    assert Vendor.objects.filter(organization=connection.organization).count() == len(vendors)


@pytest.mark.parametrize(("key", "action"), [("name", "clone"), ("name", "overwrite"), ("name", "skip"),
                                             ("sku", "overwrite"), ("sku", "skip")])
def test_products_become_items_by_name_or_sku_under_each_duplicate_rule(connection, crm, key, action):
    products = crm.records("Products", PRODUCT_FIELDS)
    with_code = [r for r in products.values() if r.get("Product_Code")]
    org = connection.organization
    if key == "name":
        twins = with_code[:2]
        existing = {ItemFactory(organization=org, name=f" {r['Product_Name'].lower()}", sku="").pk: r["id"]
                    for r in twins}
        # Same SKU under another name: not a duplicate by name, and a SKU is never shared.
        clash = with_code[5]
        blocker = ItemFactory(organization=org, name="Legacy part", sku=clash["Product_Code"])
    else:
        twins = with_code[:2]
        existing = {ItemFactory(organization=org, name=f"Old name {n}", sku=r["Product_Code"]).pk: r["id"]
                    for n, r in enumerate(twins)}
        clash, blocker = None, None
    config = configure(connection, "items", duplicate_key=key, duplicate_action=action)

    run = sync(config)

    links = links_of(connection, "Products")
    assert mismatches(products, links, default_pairs("item", "Products", set(PRODUCT_FIELDS))) == []
    twin_ids = set(existing.values())
    unsynced = set(twin_ids) if action == "skip" else set()
    if clash is not None:
        unsynced.add(clash["id"])
        [error] = issues_for(run, "error")[clash["id"]]
        assert error.field == "sku" and "Legacy part" in error.message
    assert set(links) == set(products) - unsynced
    assert (run.status == "partial") == (clash is not None)
    if action == "overwrite":
        assert {links[crm_id].erp_id for crm_id in twin_ids} == set(existing)
    if action == "skip":
        assert set(issues_for(run, "skipped")) == twin_ids
    expected_rows = {link.erp_id for link in links.values()} | set(existing) | ({blocker.pk} if blocker else set())
    assert set(Item.objects.filter(organization=org).values_list("pk", flat=True)) == expected_rows


def test_mapped_picklist_number_and_currency_fields_land_in_custom_fields(connection, crm):
    org = connection.organization
    CustomField.objects.create(organization=org, module="customers", label="Industry", api_name="Industry",
                               data_type="choice", options=INDUSTRIES)
    CustomField.objects.create(organization=org, module="customers", label="Employees", api_name="Employees",
                               data_type="number")
    CustomField.objects.create(organization=org, module="customers", label="Revenue", api_name="Revenue",
                               data_type="decimal")
    config = configure(connection, "customers", crm_source="accounts", mappings=[
        ("customer", "Accounts", "Account_Name", "text", "display_name", "both"),
        ("customer", "Accounts", "Industry", "picklist", "cf:Industry", "fetch"),
        ("customer", "Accounts", "Employees", "integer", "cf:Employees", "fetch"),
        ("customer", "Accounts", "Annual_Revenue", "currency", "cf:Revenue", "fetch"),
    ])
    accounts = crm.records("Accounts", ["Account_Name", "Industry", "Employees", "Annual_Revenue"])

    run = sync(config)

    assert run.status == "succeeded"
    links = links_of(connection, "Accounts")
    assert set(links) == set(accounts)
    customers = Customer.objects.in_bulk([link.erp_id for link in links.values()])
    for crm_id, link in links.items():
        record, customer = accounts[crm_id], customers[link.erp_id]
        assert customer.display_name == record["Account_Name"]
        assert customer.custom_fields.get("Industry") == record.get("Industry")
        assert customer.custom_fields.get("Employees") == record.get("Employees")
        revenue = record.get("Annual_Revenue")
        stored = customer.custom_fields.get("Revenue")
        assert (Decimal(stored) if stored is not None else None) == (Decimal(str(revenue)) if revenue is not None
                                                                      else None)
        assert customer.phone == ""  # not mapped, not touched
    assert RecordLink.objects.filter(connection=connection).count() == len(accounts)
    assert not SyncIssue.objects.filter(run=run)
