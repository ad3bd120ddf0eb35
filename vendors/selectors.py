from django.db.models import Q
from django.shortcuts import get_object_or_404

from organizations.listing import ListSpec, search_condition

from .models import Vendor

VENDOR_LIST = ListSpec(
    search_fields=("display_name", "company_name", "email"),
    views={
        "all": ("All Vendors", Q()),
        "active": ("Active Vendors", Q(is_active=True)),
        "inactive": ("Inactive Vendors", Q(is_active=False)),
        # Linked to a CRM record: the flag the CRM integration keeps with each link.
        "crm": ("CRM Vendors", Q(crm_linked=True)),
    },
    sorts={
        "name": ("Name A–Z", ("display_name", "id")),
        "-name": ("Name Z–A", ("-display_name", "-id")),
        "-created": ("Newest first", ("-created_at", "-id")),
    },
    default_sort="name",
    crm_views=("crm",),
)

BILL_LIST = ListSpec(
    search_fields=("number", "vendor__display_name"),
    views={
        "all": ("All Bills", Q()),
        "unpaid": ("Unpaid", Q(status__in=["open", "overdue"])),
        "paid": ("Paid", Q(status="paid")),
    },
    sorts={"-date": ("Newest first", ("-date", "-id")), "date": ("Oldest first", ("date", "id"))},
    default_sort="-date",
)


def get_vendor_for_user(request, pk: int) -> Vendor:
    return get_object_or_404(Vendor.objects.select_related("owner"), pk=pk, organization=request.organization)


def vendor_lookup(*, organization, q: str, limit: int = 10, browse: bool = False):
    """Active vendors whose name, company or email matches `q`, for pickers; with `browse`, the first ones by
    name when nothing is typed yet."""
    q = q.strip()
    vendors = Vendor.objects.filter(organization=organization, is_active=True)
    if q:
        vendors = vendors.filter(search_condition(VENDOR_LIST.search_fields, q))
    elif not browse:
        return Vendor.objects.none()
    return vendors.order_by("display_name", "id")[:limit]
