"""Selecting a CRM record in Advanced Search imports it (once) with the module's mapping and picks it on the form."""

import threading

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse

from customers.models import ContactPerson, Customer, Invoice
from integration.models import ModuleConfig
from sync import importing
from sync.models import RecordLink, SyncRun
from tests.sandbox import crm_records, sandbox_client
from vendors.models import Vendor

from .checks import account_with_contacts
from .conftest import configure


def test_selecting_an_account_imports_it_with_its_contacts_and_the_mapping(actors, sandbox, connection):
    account, contacts = account_with_contacts(sandbox)
    response = actors.client_for(actors.finance).post(
        reverse("sync:crm_import", args=["customers"]), {"crm_module": "Accounts", "crm_id": account["id"]})
    customer = Customer.objects.get(organization=actors.organization)
    assert '"crm-record-picked"' in response["HX-Trigger"] and str(customer.pk) in response["HX-Trigger"]
    assert (customer.display_name, customer.customer_type) == (account["Account_Name"], "business")
    assert customer.phone == (account.get("Phone") or "")  # the default mapping: Phone → phone
    persons = ContactPerson.objects.filter(customer=customer)
    assert {p.last_name for p in persons} == {c["Last_Name"] for c in contacts}
    assert persons.filter(is_primary=True).count() == 1
    assert RecordLink.objects.filter(connection=connection, crm_id=account["id"], erp_id=customer.pk).exists()
    assert SyncRun.objects.get(trigger="import").status == "succeeded"
    # Not configured for sync: the import used the suggested mapping and left the module unconfigured.
    assert not ModuleConfig.objects.get(module="customers").configured


def test_selecting_a_contact_imports_an_individual_customer(actors, sandbox, connection):
    _, contacts = account_with_contacts(sandbox)
    customer, created = importing.import_record(connection=connection, crm_module="Contacts",
                                                crm_id=contacts[0]["id"])
    assert created and customer.customer_type == "individual" and customer.last_name == contacts[0]["Last_Name"]


def test_selecting_an_imported_record_selects_the_existing_customer(actors, sandbox, connection):
    account, _ = account_with_contacts(sandbox)
    first, created = importing.import_record(connection=connection, crm_module="Accounts", crm_id=account["id"])
    again, created_again = importing.import_record(connection=connection, crm_module="Accounts",
                                                   crm_id=account["id"])
    assert created and not created_again and again == first
    assert Customer.objects.count() == 1


def test_a_configured_mapping_is_applied_on_import(actors, sandbox, connection):
    configure(connection, "customers", mappings=[
        ("customer", "Accounts", "Account_Name", "text", "display_name", "fetch"),
        ("customer", "Accounts", "Website", "website", "notes", "fetch"),
    ])
    account, _ = account_with_contacts(sandbox)
    customer, _ = importing.import_record(connection=connection, crm_module="Accounts", crm_id=account["id"])
    assert customer.notes == (account.get("Website") or "") and customer.phone == ""


def test_importing_a_vendor_from_new_bill(actors, sandbox, connection):
    vendor = next(crm_records(sandbox_client(sandbox), "Vendors", fields=["Vendor_Name"]))
    response = actors.client_for(actors.finance).post(
        reverse("sync:crm_import", args=["vendors"]), {"crm_module": "Vendors", "crm_id": vendor["id"]})
    imported = Vendor.objects.get(organization=actors.organization)
    assert imported.display_name == vendor["Vendor_Name"] and str(imported.pk) in response["HX-Trigger"]


def test_the_invoice_saves_with_the_imported_customer(actors, sandbox, connection):
    account, _ = account_with_contacts(sandbox)
    client = actors.client_for(actors.finance)
    client.post(reverse("sync:crm_import", args=["customers"]), {"crm_module": "Accounts", "crm_id": account["id"]})
    customer = Customer.objects.get()
    response = client.post(reverse("customers:invoice_create"), {
        "customer": customer.pk, "number": "INV-CRM-1", "date": "2026-11-01", "due_date": "2026-12-01",
        "total": "500.00", "amount_paid": "0", "status": "open"})
    assert response.status_code == 302 and Invoice.objects.get().customer == customer


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)")
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_import_once(actors, sandbox, connection):
    account, _ = account_with_contacts(sandbox)
    sandbox.config(latency_ms=150)  # both requests are in flight together
    results, errors = [], []

    def click():
        client = Client()
        client.force_login(actors.finance)
        try:
            results.append(client.post(reverse("sync:crm_import", args=["customers"]),
                                       {"crm_module": "Accounts", "crm_id": account["id"]}).status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and results == [200, 200]
    assert Customer.objects.filter(organization=actors.organization).count() == 1
    assert RecordLink.objects.filter(crm_id=account["id"]).count() == 1
