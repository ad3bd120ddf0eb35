from decimal import Decimal

from django.core.exceptions import ValidationError

from customers.models import status_for
from organizations.models import Organization

from .models import Bill, Vendor


def vendor_save(*, vendor: Vendor) -> Vendor:
    vendor.full_clean()
    vendor.save()
    return vendor


def vendor_create(*, organization: Organization, display_name: str, **fields) -> Vendor:
    fields.setdefault("currency", organization.base_currency)
    return vendor_save(vendor=Vendor(organization=organization, display_name=display_name, **fields))


def vendor_set_active(*, vendor: Vendor, active: bool) -> Vendor:
    vendor.is_active = active
    vendor.save(update_fields=["is_active", "updated_at"])
    return vendor


def bill_create(
    *,
    organization: Organization,
    vendor: Vendor,
    number: str,
    date,
    due_date,
    total: Decimal,
    amount_paid: Decimal = Decimal("0"),
    status: str = "open",
    notes: str = "",
) -> Bill:
    if vendor.organization_id != organization.pk:
        raise ValidationError({"vendor": "This vendor belongs to another organization."})
    balance = total - amount_paid
    bill = Bill(
        organization=organization,
        vendor=vendor,
        number=number.strip(),
        date=date,
        due_date=due_date,
        total=total,
        balance=balance,
        notes=notes,
        status=status_for(balance=balance, due_date=due_date, current=status),
    )
    bill.full_clean()
    bill.save()
    return bill
