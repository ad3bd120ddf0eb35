"""What finance users do every day: CRM filters, Advanced Search with import, accounting metrics in the CRM."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import ContactPerson, Customer, Invoice
from integration.models import ConnectionStatus, ModuleConfig
from sync import importing, metrics, tasks
from sync.flags import refresh_crm_flags
from sync.models import RecordLink, SyncRun
from tests.factories import CustomerFactory, InvoiceFactory
from tests.sandbox import crm_records, sandbox_client
from vendors.models import Vendor

from .conftest import configure, sync


def account_with_contacts(sandbox):
    """A CRM account that has contacts, with them."""
    crm = sandbox_client(sandbox)
    contacts = list(crm_records(crm, "Contacts", fields=["First_Name", "Last_Name", "Account_Name"]))
    by_account = {}
    for contact in contacts:
        account = contact.get("Account_Name")
        if account:
            by_account.setdefault(account["id"], []).append(contact)
    account_id, its_contacts = max(by_account.items(), key=lambda item: len(item[1]))
    return crm.get_record("Accounts", account_id), its_contacts


# --- filters ----------------------------------------------------------------------------------------------------


def test_crm_customers_view_lists_only_linked_customers_with_a_badge(actors, connection):
    linked = CustomerFactory(organization=actors.organization, display_name="Linked Ltd")
    CustomerFactory(organization=actors.organization, display_name="Local Ltd")
    RecordLink.objects.create(connection=connection, crm_module="Accounts", crm_id="1", erp_model="customer",
                              erp_id=linked.pk, origin="crm")
    refresh_crm_flags(organization_id=actors.organization.pk)  # a link made by hand: the sync writes the flag itself
    client = actors.client_for(actors.finance)
    page = client.get(reverse("customers:list"), {"view": "crm"})
    assert [c.display_name for c in page.context["state"].page] == ["Linked Ltd"]
    assert "CRM Customers" in page.content.decode()
    everything = client.get(reverse("customers:list")).content.decode()
    assert everything.count('class="pill crm"') == 1
    searched = client.get(reverse("customers:list"), {"view": "crm", "q": "local"})
    assert list(searched.context["state"].page) == []


def test_the_crm_badge_comes_with_the_rows_without_a_query_per_row(actors, connection):
    client = actors.client_for(actors.finance)
    customers = [CustomerFactory(organization=actors.organization, display_name="Badge 0")]
    client.get(reverse("customers:list"))  # the first request of a session does its own one-off queries

    def listed() -> tuple[int, str]:
        with CaptureQueriesContext(db_connection) as queries:
            page = client.get(reverse("customers:list")).content.decode()
        return len(queries), page

    before, _ = listed()
    customers += [CustomerFactory(organization=actors.organization, display_name=f"Badge {n}") for n in range(1, 4)]
    for n, customer in enumerate(customers[:3]):
        RecordLink.objects.create(connection=connection, crm_module="Accounts", crm_id=str(n + 1),
                                  erp_model="customer", erp_id=customer.pk, origin="crm")
    refresh_crm_flags(organization_id=actors.organization.pk)
    after, page = listed()

    assert page.count('class="pill crm"') == 3
    assert after == before


def test_crm_vendors_view(actors, connection):
    from tests.factories import VendorFactory

    linked = VendorFactory(organization=actors.organization, display_name="CRM Supplies")
    VendorFactory(organization=actors.organization, display_name="Local Supplies")
    RecordLink.objects.create(connection=connection, crm_module="Vendors", crm_id="9", erp_model="vendor",
                              erp_id=linked.pk, origin="crm")
    refresh_crm_flags(organization_id=actors.organization.pk)
    page = actors.client_for(actors.ops).get(reverse("vendors:list"), {"view": "crm"})
    assert [v.display_name for v in page.context["state"].page] == ["CRM Supplies"]


# --- Advanced Search ----------------------------------------------------------------------------------------------


def test_search_by_account_name_lists_the_account_with_its_contacts(actors, sandbox, connection):
    account, contacts = account_with_contacts(sandbox)
    response = actors.client_for(actors.finance).get(
        reverse("sync:crm_search", args=["customers"]), {"q": account["Account_Name"][:6]})
    hits = response.context["hits"]
    hit = next(h for h in hits if h.crm_id == account["id"])
    assert {c.crm_id for c in hit.contacts} == {c["id"] for c in contacts}
    assert all(h.name.lower().startswith(account["Account_Name"][:6].lower()) for h in hits
               if h.crm_module == "Accounts")


def test_search_by_first_or_last_name_finds_contacts(actors, sandbox, connection):
    _, contacts = account_with_contacts(sandbox)
    person = contacts[0]
    client = actors.client_for(actors.finance)
    by_last = client.get(reverse("sync:crm_search", args=["customers"]), {"q": person["Last_Name"]}).context["hits"]
    assert person["id"] in [h.crm_id for h in by_last if h.crm_module == "Contacts"]
    if person.get("First_Name"):
        by_first = client.get(reverse("sync:crm_search", args=["customers"]),
                              {"q": person["First_Name"]}).context["hits"]
        assert person["id"] in [h.crm_id for h in by_first if h.crm_module == "Contacts"]


def test_search_without_results_says_so(actors, sandbox, connection):
    response = actors.client_for(actors.finance).get(reverse("sync:crm_search", args=["customers"]),
                                                     {"q": "Zzyzx Nothing"})
    assert response.context["hits"] == []
    assert "No accounts or contacts in Zoho CRM match" in response.content.decode()


def test_an_unreachable_crm_gives_a_clear_message_and_the_erp_tab_still_works(actors, sandbox, connection):
    CustomerFactory(organization=actors.organization, display_name="Falcon Local")
    sandbox.config(error_rate_5xx=1.0)
    client = actors.client_for(actors.finance)
    response = client.get(reverse("sync:crm_search", args=["customers"]), {"q": "Falcon"})
    assert response.status_code == 200
    assert "could not be reached just now" in response.content.decode()
    erp = client.get(reverse("customers:lookup"), {"q": "Falcon"}).content.decode()
    assert "Falcon Local" in erp


def test_search_refuses_when_the_integration_is_disabled(actors, sandbox, connection):
    connection.status = ConnectionStatus.DISABLED
    connection.save()
    client = actors.client_for(actors.finance)
    search = client.get(reverse("sync:crm_search", args=["customers"]), {"q": "Falcon"}).content.decode()
    assert "integration is disabled" in search
    response = client.post(reverse("sync:crm_import", args=["customers"]), {"crm_module": "Accounts", "crm_id": "1"})
    assert "integration is disabled" in response.content.decode() and not Customer.objects.exists()


def test_ops_cannot_search_or_import(actors, sandbox, connection):
    client = actors.client_for(actors.ops)
    assert client.get(reverse("sync:crm_search", args=["customers"]), {"q": "x"}).status_code == 403
    assert client.post(reverse("sync:crm_import", args=["customers"]), {}).status_code == 403


# --- import -------------------------------------------------------------------------------------------------------


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


# --- accounting metrics -----------------------------------------------------------------------------------------


def linked_customer(sandbox, connection, actors):
    account, _ = account_with_contacts(sandbox)
    customer, _ = importing.import_record(connection=connection, crm_module="Accounts", crm_id=account["id"])
    configure_customers = ModuleConfig.objects.get(connection=connection, module="customers")
    configure_customers.configured = True
    configure_customers.crm_source = "accounts"
    configure_customers.save()
    return customer, account["id"]


def test_metrics_hold_the_exact_amounts_in_the_crm(actors, sandbox, connection):
    customer, account_id = linked_customer(sandbox, connection, actors)
    InvoiceFactory(customer=customer, total=Decimal("1200.50"), balance=Decimal("1200.50"), number="M-1",
                   date="2026-10-01", due_date="2026-10-31")
    InvoiceFactory(customer=customer, total=Decimal("300.25"), balance=Decimal("0"), status="paid", number="M-2",
                   date="2026-11-05", due_date="2026-12-05")
    InvoiceFactory(customer=customer, total=Decimal("99.00"), balance=Decimal("99.00"), status="void", number="M-3",
                   date="2026-11-20", due_date="2026-12-20")
    result = metrics.push_metrics(connection=connection, client=sandbox_client(sandbox))
    assert result["pushed"] == 1 and result["failed"] == 0
    record = sandbox.get_record("Accounts", account_id)
    assert Decimal(str(record["ERP_Total_Sales"])) == Decimal("1500.75")
    assert Decimal(str(record["ERP_Outstanding_Receivables"])) == Decimal("1200.50")
    assert record["ERP_Last_Invoice_Date"] == "2026-11-05"


def test_metrics_fields_are_created_once(actors, sandbox, connection):
    customer, _ = linked_customer(sandbox, connection, actors)
    InvoiceFactory(customer=customer)
    client = sandbox_client(sandbox)
    metrics.push_metrics(connection=connection, client=client)
    metrics.push_metrics(connection=connection, client=client)
    names = [f["api_name"] for f in client.fields("Accounts")]
    assert names.count("ERP_Total_Sales") == 1 and "ERP_Last_Invoice_Date" in names


def test_a_metrics_push_stopped_by_the_database_is_recorded_failed_and_due_again(actors, sandbox, connection,
                                                                                 monkeypatch):
    customer, _ = linked_customer(sandbox, connection, actors)
    InvoiceFactory(customer=customer)
    ConnectionModel = type(connection)
    ConnectionModel.objects.filter(pk=connection.pk).update(metrics_due_at=timezone.now())

    def lost_database(customer_ids):  # a failure of the database server cannot be caused on purpose here
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(metrics, "customer_metrics", lost_database)
    with pytest.raises(OperationalError):
        tasks.push_customer_metrics(connection.pk)

    run = SyncRun.objects.get(trigger="metrics")
    assert run.status == "failed" and "server closed the connection" in run.failure_reason
    assert ConnectionModel.objects.get(pk=connection.pk).metrics_due_at is not None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ten_invoice_edits_in_the_debounce_window_make_one_push(actors, sandbox, connection, settings,
                                                                 celery_worker):
    settings.CRM_METRICS_DEBOUNCE_SECONDS = 2
    customer, account_id = linked_customer(sandbox, connection, actors)
    invoice = InvoiceFactory(customer=customer, total=Decimal("100.00"), balance=Decimal("100.00"))
    for amount in range(11, 20):
        invoice.balance = Decimal(amount)
        invoice.save()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not SyncRun.objects.filter(trigger="metrics", finished_at__isnull=False):
        time.sleep(0.2)
    time.sleep(settings.CRM_METRICS_DEBOUNCE_SECONDS + 1)  # room for a second push, which must not come
    runs = SyncRun.objects.filter(trigger="metrics")
    assert runs.count() == 1 and runs.get().status == "succeeded"
    assert sandbox.calls()["calls"].get("PUT /crm/v8/Accounts") == 1
    record = sandbox.get_record("Accounts", account_id)
    assert Decimal(str(record["ERP_Outstanding_Receivables"])) == Decimal("19")


def test_the_crm_view_follows_syncs_and_deletions(actors, sandbox, connection):
    config = configure(connection, "customers", crm_source="accounts")
    sync(config)
    client = actors.client_for(actors.finance)
    listed = client.get(reverse("customers:list"), {"view": "crm"}).context["state"].page.paginator.count
    assert listed == Customer.objects.filter(organization=actors.organization).count() > 0
    from sync.services import integration_delete

    integration_delete(connection=connection, mode="all")
    assert client.get(reverse("customers:list"), {"view": "crm"}).context["state"].page.paginator.count == 0
