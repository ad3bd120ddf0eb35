import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from organizations.listing import ListSpec, list_state, search_condition
from organizations.permissions import EDIT_ROLES, READ_ROLES, role_required

from . import services
from .forms import BillForm, VendorForm
from .models import Bill, Vendor

VENDOR_LIST = ListSpec(
    search_fields=("display_name", "company_name", "email"),
    views={
        "all": ("All Vendors", Q()),
        "active": ("Active Vendors", Q(is_active=True)),
        "inactive": ("Inactive Vendors", Q(is_active=False)),
    },
    sorts={
        "name": ("Name A–Z", ("display_name", "id")),
        "-name": ("Name Z–A", ("-display_name", "-id")),
        "-created": ("Newest first", ("-created_at", "-id")),
    },
    default_sort="name",
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


@role_required(*READ_ROLES)
def vendor_list(request: HttpRequest) -> HttpResponse:
    queryset = Vendor.objects.filter(organization=request.organization)
    state = list_state(request, queryset, VENDOR_LIST)
    return render(request, "vendors/vendor_list.html", {"state": state})


@role_required(*READ_ROLES)
def vendor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = get_vendor_for_user(request, pk)
    return render(
        request,
        "vendors/vendor_detail.html",
        {"vendor": vendor, "bills": vendor.bills.all()[:20], "payables": vendor.payables()},
    )


def _vendor_form_page(request: HttpRequest, vendor: Vendor) -> HttpResponse:
    creating = vendor.pk is None
    form = VendorForm(request.POST if request.method == "POST" else None, instance=vendor, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        vendor = form.save(commit=False)
        try:
            services.vendor_save(vendor=vendor)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Vendor “{vendor.display_name}” saved.")
            return redirect("vendors:detail", pk=vendor.pk)
    return render(request, "vendors/vendor_form.html", {"form": form, "vendor": vendor, "creating": creating})


@role_required(*EDIT_ROLES)
def vendor_create(request: HttpRequest) -> HttpResponse:
    return _vendor_form_page(request, Vendor(organization=request.organization, owner=request.user))


@role_required(*EDIT_ROLES)
def vendor_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _vendor_form_page(request, get_vendor_for_user(request, pk))


@role_required(*EDIT_ROLES)
@require_POST
def vendor_toggle_active(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = get_vendor_for_user(request, pk)
    services.vendor_set_active(vendor=vendor, active=not vendor.is_active)
    state = "active again" if vendor.is_active else "now inactive"
    messages.success(request, f"“{vendor.display_name}” is {state}.")
    return redirect("vendors:detail", pk=vendor.pk)


@role_required(*READ_ROLES)
def bill_list(request: HttpRequest) -> HttpResponse:
    queryset = Bill.objects.filter(organization=request.organization).select_related("vendor")
    state = list_state(request, queryset, BILL_LIST)
    return render(request, "vendors/bill_list.html", {"state": state})


@role_required(*EDIT_ROLES)
def bill_create(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    initial = {"date": today, "due_date": today + datetime.timedelta(days=30)}
    if request.GET.get("vendor", "").isdigit():
        initial["vendor"] = int(request.GET["vendor"])
    form = BillForm(request.POST if request.method == "POST" else None, initial=initial, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            bill = services.bill_create(organization=request.organization, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Bill {bill.number} saved for {bill.vendor.display_name}.")
            return redirect("vendors:detail", pk=bill.vendor_id)
    return render(request, "vendors/bill_form.html", {"form": form})


@role_required(*READ_ROLES)
def vendor_lookup(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    vendors = Vendor.objects.none()
    if q:
        vendors = (
            Vendor.objects.filter(organization=request.organization, is_active=True)
            .filter(search_condition(VENDOR_LIST.search_fields, q))
            .order_by("display_name", "id")[:10]
        )
    return render(request, "partials/record_lookup.html", {"records": vendors, "empty": "No matching vendors."})
