"""Invoices: create, validate, pay, overdue; the customer's figures follow."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from customers.models import Invoice
from customers.services import invoice_create, invoice_record_payment, invoices_mark_overdue
from tests.factories import CustomerFactory, InvoiceFactory


def invoice_post(for_customer, **overrides):
    data = {
        "customer": for_customer.pk,
        "number": "INV-9001",
        "date": "2026-03-01",
        "due_date": "2026-03-31",
        "total": "1250.00",
        "amount_paid": "200.00",
        "status": "open",
    }
    data.update(overrides)
    return data


def test_finance_creates_an_invoice_and_sees_receivables(actors):
    customer = CustomerFactory(organization=actors.organization)
    client = actors.client_for(actors.finance)
    response = client.post(reverse("customers:invoice_create"), invoice_post(customer))
    assert response.status_code == 302
    invoice = Invoice.objects.get()
    assert (invoice.total, invoice.balance, invoice.customer) == (Decimal("1250.00"), Decimal("1050.00"), customer)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "USD 1,050.00" in page and "USD 1,250.00" in page


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"amount_paid": "2000"}, "The amount paid cannot be more than the total."),
        ({"due_date": "2026-02-01"}, "The due date cannot be before the invoice date."),
        ({"total": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"customer": ""}, "Choose a customer."),
        ({"date": "yesterday"}, "Enter a valid date."),
    ],
)
def test_invalid_invoices_are_refused_with_a_reason(actors, overrides, message):
    customer = CustomerFactory(organization=actors.organization)
    response = actors.client_for(actors.finance).post(
        reverse("customers:invoice_create"), invoice_post(customer, **overrides)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Invoice.objects.exists()


def test_invoice_numbers_are_unique_per_organization(actors):
    customer = CustomerFactory(organization=actors.organization)
    InvoiceFactory(customer=customer, number="INV-9001")
    response = actors.client_for(actors.finance).post(reverse("customers:invoice_create"), invoice_post(customer))
    assert "An invoice with this number already exists." in response.content.decode()
    other = CustomerFactory(organization=actors.other_organization)
    InvoiceFactory(customer=other, number="INV-9001")  # another organization may use the same number


def test_inactive_customers_cannot_be_invoiced(actors):
    customer = CustomerFactory(organization=actors.organization, is_active=False)
    response = actors.client_for(actors.finance).post(reverse("customers:invoice_create"), invoice_post(customer))
    assert response.status_code == 200 and not Invoice.objects.exists()


def test_new_invoice_from_a_customer_preselects_it(actors):
    customer = CustomerFactory(organization=actors.organization, display_name="Preselected Co")
    page = actors.client_for(actors.finance).get(reverse("customers:invoice_create"), {"customer": customer.pk})
    assert page.context["form"].initial["customer"] == customer.pk
    assert 'value="Preselected Co"' in page.content.decode()


def test_new_invoice_does_not_preselect_an_inactive_customer_or_one_of_another_organization(actors):
    client = actors.client_for(actors.finance)
    for customer in (CustomerFactory(organization=actors.organization, is_active=False),
                     CustomerFactory(organization=actors.other_organization)):
        page = client.get(reverse("customers:invoice_create"), {"customer": customer.pk})
        assert "customer" not in page.context["form"].initial and page.context["chosen_customer"] is None


NOT_IDS = ["²", "١٢", "12a", "-1", "0", " ", str(2**63)]  # "²" and "١٢" pass str.isdigit(); 2**63 overflows bigint


@pytest.mark.parametrize("value", NOT_IDS)
def test_new_invoice_ignores_a_customer_that_is_not_an_id(actors, value):
    CustomerFactory(organization=actors.organization, pk=2)
    page = actors.client_for(actors.finance).get(reverse("customers:invoice_create"), {"customer": value})
    assert page.status_code == 200
    assert "customer" not in page.context["form"].initial and page.context["chosen_customer"] is None


@pytest.mark.parametrize("value", NOT_IDS)
def test_an_invoice_posted_for_a_customer_that_is_not_an_id_is_refused_with_a_reason(actors, value):
    customer = CustomerFactory(organization=actors.organization, pk=2)
    response = actors.client_for(actors.finance).post(reverse("customers:invoice_create"),
                                                      invoice_post(customer, customer=value))
    assert response.status_code == 200 and response.context["chosen_customer"] is None
    assert response.context["form"].errors["customer"] and not Invoice.objects.exists()


def test_payments_reduce_the_balance_and_mark_it_paid(actors):
    invoice = InvoiceFactory(customer__organization=actors.organization, total=Decimal("300"), balance=Decimal("300"))
    client = actors.client_for(actors.finance)
    client.post(reverse("customers:invoice_payment", args=[invoice.pk]), {"amount": "100"})
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("200") and invoice.status == "open"
    client.post(reverse("customers:invoice_payment", args=[invoice.pk]), {"amount": "200"})
    invoice.refresh_from_db()
    assert invoice.balance == 0 and invoice.status == "paid"


def test_overpayment_is_refused(db):
    invoice = InvoiceFactory(total=Decimal("10"), balance=Decimal("10"))
    with pytest.raises(ValidationError):
        invoice_record_payment(invoice=invoice, amount=Decimal("11"))
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("10")


def test_the_database_keeps_the_balance_between_zero_and_total(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceFactory(total=Decimal("10"), balance=Decimal("11"))


def test_past_due_invoices_become_overdue(db):
    customer = CustomerFactory()
    past = datetime.date.today() - datetime.timedelta(days=40)
    late = invoice_create(organization=customer.organization, customer=customer, number="L-1", date=past,
                          due_date=past + datetime.timedelta(days=10), total=Decimal("50"))
    assert late.status == "overdue"  # status is set from the due date on creation
    Invoice.objects.filter(pk=late.pk).update(status="open")
    paid = invoice_create(organization=customer.organization, customer=customer, number="L-2", date=past,
                          due_date=past, total=Decimal("50"), amount_paid=Decimal("50"))
    assert invoices_mark_overdue(organization=customer.organization) == 1
    late.refresh_from_db()
    paid.refresh_from_db()
    assert (late.status, paid.status) == ("overdue", "paid")


def test_without_an_organization_past_due_invoices_of_every_organization_become_overdue(db):
    past = datetime.date.today() - datetime.timedelta(days=40)
    first, second = (
        InvoiceFactory(date=past, due_date=past, total=Decimal("50"), balance=Decimal("50"), status="open")
        for _ in range(2)
    )
    assert first.organization != second.organization
    assert invoices_mark_overdue() == 2
    assert set(Invoice.objects.values_list("status", flat=True)) == {"overdue"}


def test_invoice_list_filters_unpaid(actors):
    InvoiceFactory(customer__organization=actors.organization, number="OPEN-1")
    InvoiceFactory(customer__organization=actors.organization, number="PAID-1", balance=0, status="paid")
    page = actors.client_for(actors.ops).get(reverse("customers:invoice_list"), {"view": "unpaid"})
    numbers = [i.number for i in page.context["state"].page]
    assert numbers == ["OPEN-1"]
