"""Who may see and change what: anonymous users, roles, and other organizations."""

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, InvoiceFactory, ItemFactory, VendorFactory

READ_PAGES = [
    "customers:list",
    "customers:invoice_list",
    "vendors:list",
    "vendors:bill_list",
    "items:list",
    "settings",
    "notifications",
]
EDIT_PAGES = ["customers:create", "customers:invoice_create", "vendors:create", "vendors:bill_create", "items:create"]


@pytest.mark.parametrize("name", READ_PAGES + EDIT_PAGES)
def test_anonymous_users_are_sent_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["admin", "finance", "ops"])
@pytest.mark.parametrize("name", READ_PAGES)
def test_every_role_can_read(actors, role, name):
    response = actors.client_for(getattr(actors, role)).get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("name", EDIT_PAGES)
def test_ops_cannot_open_edit_pages(actors, name):
    assert actors.client_for(actors.ops).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("role", ["admin", "finance"])
@pytest.mark.parametrize("name", EDIT_PAGES)
def test_finance_and_admin_can_open_edit_pages(actors, role, name):
    assert actors.client_for(getattr(actors, role)).get(reverse(name)).status_code == 200


def test_ops_cannot_create_a_customer(actors):
    client = actors.client_for(actors.ops)
    response = client.post(reverse("customers:create"), {"display_name": "Sneaky", "customer_type": "business"})
    assert response.status_code == 403
    assert not actors.organization.customers.exists()


def test_only_admins_manage_custom_fields(actors):
    assert actors.client_for(actors.finance).get(reverse("custom_fields")).status_code == 403
    assert actors.client_for(actors.admin).get(reverse("custom_fields")).status_code == 200


@pytest.mark.parametrize(
    "factory,detail",
    [
        (CustomerFactory, "customers:detail"),
        (CustomerFactory, "customers:edit"),
        (VendorFactory, "vendors:detail"),
        (VendorFactory, "vendors:edit"),
        (ItemFactory, "items:detail"),
        (ItemFactory, "items:edit"),
    ],
)
def test_records_of_another_organization_are_not_found(actors, factory, detail):
    record = factory(organization=actors.other_organization)
    response = actors.client_for(actors.admin).get(reverse(detail, args=[record.pk]))
    assert response.status_code == 404


def test_lists_and_lookups_show_only_the_current_organization(actors):
    CustomerFactory(organization=actors.organization, display_name="Ours Ltd")
    CustomerFactory(organization=actors.other_organization, display_name="Theirs Ltd")
    InvoiceFactory(customer__organization=actors.other_organization, number="THEIRS-1")
    client = actors.client_for(actors.finance)
    listing = client.get(reverse("customers:list")).content.decode()
    assert "Ours Ltd" in listing and "Theirs Ltd" not in listing
    lookup = client.get(reverse("customers:lookup"), {"q": "Ltd"}).content.decode()
    assert "Ours Ltd" in lookup and "Theirs Ltd" not in lookup
    assert "THEIRS-1" not in client.get(reverse("customers:invoice_list")).content.decode()


def test_an_invoice_cannot_be_written_for_another_organizations_customer(actors):
    theirs = CustomerFactory(organization=actors.other_organization)
    response = actors.client_for(actors.finance).post(
        reverse("customers:invoice_create"),
        {"customer": theirs.pk, "number": "X-1", "date": "2026-01-01", "due_date": "2026-01-31", "total": "10",
         "status": "open"},
    )
    assert response.status_code == 200
    assert "Choose an active customer of this organization." in response.content.decode()
    assert not theirs.invoices.exists()


def test_a_payment_cannot_be_recorded_on_another_organizations_invoice(actors):
    invoice = InvoiceFactory(customer__organization=actors.other_organization)
    response = actors.client_for(actors.admin).post(
        reverse("customers:invoice_payment", args=[invoice.pk]), {"amount": "10"}
    )
    assert response.status_code == 404
    invoice.refresh_from_db()
    assert invoice.balance == invoice.total


def test_forms_require_csrf(actors):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.finance)
    response = client.post(reverse("customers:create"), {"display_name": "No token", "customer_type": "business"})
    assert response.status_code == 403
    assert not actors.organization.customers.exists()
