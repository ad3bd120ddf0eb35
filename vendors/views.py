import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from organizations.listing import MAX_QUERY, list_state, record_id
from organizations.permissions import EDIT_ROLES, READ_ROLES, role_required

from . import selectors, services
from .forms import BillForm, VendorForm
from .models import Bill, Vendor


@role_required(*READ_ROLES)
def vendor_list(request: HttpRequest) -> HttpResponse:
    queryset = Vendor.objects.filter(organization=request.organization)
    state = list_state(request, queryset, selectors.VENDOR_LIST)
    return render(request, "vendors/vendor_list.html", {"state": state})


@role_required(*READ_ROLES)
def vendor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = selectors.get_vendor_for_user(request, pk)
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
    return _vendor_form_page(request, selectors.get_vendor_for_user(request, pk))


@role_required(*EDIT_ROLES)
@require_POST
def vendor_toggle_active(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = selectors.get_vendor_for_user(request, pk)
    services.vendor_set_active(vendor=vendor, active=not vendor.is_active)
    state = "active again" if vendor.is_active else "now inactive"
    messages.success(request, f"“{vendor.display_name}” is {state}.")
    return redirect("vendors:detail", pk=vendor.pk)


@role_required(*READ_ROLES)
def bill_list(request: HttpRequest) -> HttpResponse:
    queryset = Bill.objects.filter(organization=request.organization).select_related("vendor")
    state = list_state(request, queryset, selectors.BILL_LIST)
    return render(request, "vendors/bill_list.html", {"state": state})


@role_required(*EDIT_ROLES)
def bill_create(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    initial = {"date": today, "due_date": today + datetime.timedelta(days=30)}
    asked = record_id(request.GET.get("vendor"))
    if asked is not None:
        initial["vendor"] = asked
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
    browse = request.GET.get("browse") == "1"
    q = request.GET.get("q", "")[:MAX_QUERY]
    vendors = selectors.vendor_lookup(organization=request.organization, q=q, browse=browse,
                                      limit=25 if browse else 10)
    return render(request, "partials/record_lookup.html", {"records": vendors, "empty": "No matching vendors."})
