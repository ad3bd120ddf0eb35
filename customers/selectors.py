from django.db.models import Q
from django.shortcuts import get_object_or_404

from organizations.listing import ListSpec, search_condition

from .models import Customer, Invoice

CUSTOMER_LIST = ListSpec(
    search_fields=("display_name", "company_name", "email"),
    views={
        "all": ("All Customers", Q()),
        "active": ("Active Customers", Q(is_active=True)),
        "inactive": ("Inactive Customers", Q(is_active=False)),
        # Linked to a CRM record: the flag the CRM integration keeps with each link.
        "crm": ("CRM Customers", Q(crm_linked=True)),
    },
    sorts={
        "name": ("Name A–Z", ("display_name", "id")),
        "-name": ("Name Z–A", ("-display_name", "-id")),
        "-created": ("Newest first", ("-created_at", "-id")),
        "created": ("Oldest first", ("created_at", "id")),
    },
    default_sort="name",
    crm_views=("crm",),
)

INVOICE_LIST = ListSpec(
    search_fields=("number", "customer__display_name"),
    views={
        "all": ("All Invoices", Q()),
        "unpaid": ("Unpaid", Q(status__in=["open", "overdue"])),
        "overdue": ("Overdue", Q(status="overdue")),
        "paid": ("Paid", Q(status="paid")),
        "draft": ("Draft", Q(status="draft")),
    },
    sorts={
        "-date": ("Newest first", ("-date", "-id")),
        "date": ("Oldest first", ("date", "id")),
        "number": ("Number", ("number",)),
    },
    default_sort="-date",
)


def get_customer_for_user(request, pk: int) -> Customer:
    customers = Customer.objects.select_related("owner")
    return get_object_or_404(customers, pk=pk, organization=request.organization)


def active_customer(*, organization, pk: int) -> Customer | None:
    """The organization's customer `pk` when it is active, the only ones an invoice can be for."""
    return Customer.objects.filter(organization=organization, pk=pk, is_active=True).first()


def get_invoice_for_user(request, pk: int) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("customer"), pk=pk, organization=request.organization)


def customer_lookup(*, organization, q: str, limit: int = 10, browse: bool = False):
    """Active customers whose name, company or email matches `q`, for pickers; with `browse`, the first ones
    by name when nothing is typed yet (Advanced Search lists them before a search)."""
    q = q.strip()
    customers = Customer.objects.filter(organization=organization, is_active=True)
    if q:
        customers = customers.filter(search_condition(CUSTOMER_LIST.search_fields, q))
    elif not browse:
        return Customer.objects.none()
    return customers.order_by("display_name", "id")[:limit]
