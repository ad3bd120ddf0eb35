from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from organizations.models import Organization

from .models import ContactPerson, Customer, Invoice, status_for


def customer_save(*, customer: Customer, contact_persons=(), deleted_contact_persons=()) -> Customer:
    """Validate and save a customer with its contact persons, all or nothing.

    `contact_persons` are unsaved or changed ContactPerson objects; the first one marked primary wins.
    When none is primary, the oldest contact person becomes the primary one.
    """
    customer.full_clean()
    with transaction.atomic():
        customer.save()
        for person in deleted_contact_persons:
            if person.pk:
                person.delete()
        primary_seen = False
        for person in contact_persons:
            person.customer = customer
            if person.is_primary:
                if primary_seen:
                    person.is_primary = False
                primary_seen = True
            person.full_clean()
        if primary_seen:
            customer.contact_persons.filter(is_primary=True).exclude(
                pk__in=[p.pk for p in contact_persons if p.pk and p.is_primary]
            ).update(is_primary=False)
        for person in contact_persons:
            person.save()
        if not primary_seen and not customer.contact_persons.filter(is_primary=True).exists():
            first = customer.contact_persons.order_by("id").first()
            if first is not None:
                ContactPerson.objects.filter(pk=first.pk).update(is_primary=True)
    return customer


def customer_create(*, organization: Organization, display_name: str, contact_persons=(), **fields) -> Customer:
    """A new customer (in the organization's currency unless told otherwise) with its contact persons,
    unsaved ContactPerson objects (see customer_save)."""
    fields.setdefault("currency", organization.base_currency)
    customer = Customer(organization=organization, display_name=display_name, **fields)
    return customer_save(customer=customer, contact_persons=contact_persons)


def customer_set_active(*, customer: Customer, active: bool) -> Customer:
    customer.is_active = active
    customer.save(update_fields=["is_active", "updated_at"])
    return customer


def invoice_create(
    *,
    organization: Organization,
    customer: Customer,
    number: str,
    date,
    due_date,
    total: Decimal,
    amount_paid: Decimal = Decimal("0"),
    status: str = "open",
    notes: str = "",
) -> Invoice:
    if customer.organization_id != organization.pk:
        raise ValidationError({"customer": "This customer belongs to another organization."})
    balance = total - amount_paid
    invoice = Invoice(
        organization=organization,
        customer=customer,
        number=number.strip(),
        date=date,
        due_date=due_date,
        total=total,
        balance=balance,
        notes=notes,
    )
    invoice.status = status_for(balance=balance, due_date=due_date, current=status)
    invoice.full_clean()
    invoice.save()
    return invoice


def invoice_record_payment(*, invoice: Invoice, amount: Decimal) -> Invoice:
    if amount <= 0 or amount > invoice.balance:
        raise ValidationError({"amount": "A payment must be more than zero and at most the balance."})
    invoice.balance -= amount
    invoice.status = status_for(balance=invoice.balance, due_date=invoice.due_date, current=invoice.status)
    invoice.save(update_fields=["balance", "status", "updated_at"])
    return invoice


def next_invoice_number(*, organization: Organization) -> str:
    count = Invoice.objects.filter(organization=organization).count()
    while True:
        count += 1
        number = f"INV-{count:05d}"
        if not Invoice.objects.filter(organization=organization, number=number).exists():
            return number


def invoices_mark_overdue(*, organization: Organization | None = None) -> int:
    """Open invoices whose due date has passed become overdue: the organization's, or without one every
    organization's in one update. Returns how many changed."""
    from django.utils import timezone

    invoices = Invoice.objects.filter(status="open", due_date__lt=timezone.localdate(), balance__gt=0)
    if organization is not None:
        invoices = invoices.filter(organization=organization)
    return invoices.update(status="overdue", updated_at=timezone.now())
