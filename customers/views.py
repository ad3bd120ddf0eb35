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
from .forms import ContactPersonFormSet, CustomerForm, InvoiceForm, PaymentForm
from .models import Customer, Invoice
from .tasks import mark_overdue_invoices


@role_required(*READ_ROLES)
def customer_list(request: HttpRequest) -> HttpResponse:
    queryset = Customer.objects.filter(organization=request.organization).only(
        "id", "display_name", "company_name", "email", "phone", "customer_type", "is_active", "currency", "crm_linked"
    )
    state = list_state(request, queryset, selectors.CUSTOMER_LIST)
    template = "customers/partials/customer_rows.html" if request.htmx else "customers/customer_list.html"
    return render(request, template, {"state": state})


@role_required(*READ_ROLES)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.get_customer_for_user(request, pk)
    invoices = customer.invoices.all()[:20]
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "contact_persons": customer.contact_persons.all(),
            "invoices": invoices,
            "receivables": customer.receivables(),
        },
    )


def _customer_form_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    creating = customer.pk is None
    if request.method == "POST":
        form = CustomerForm(request.POST, instance=customer, organization=request.organization)
        formset = ContactPersonFormSet(request.POST, instance=customer, prefix="contacts")
        if form.is_valid() and formset.is_valid():
            customer = form.save(commit=False)
            persons = formset.save(commit=False)
            try:
                services.customer_save(
                    customer=customer, contact_persons=persons, deleted_contact_persons=formset.deleted_objects
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Customer “{customer.display_name}” saved.")
                return redirect("customers:detail", pk=customer.pk)
    else:
        form = CustomerForm(instance=customer, organization=request.organization)
        formset = ContactPersonFormSet(instance=customer, prefix="contacts")
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "formset": formset, "customer": customer, "creating": creating},
    )


@role_required(*EDIT_ROLES)
def customer_create(request: HttpRequest) -> HttpResponse:
    return _customer_form_page(request, Customer(organization=request.organization, owner=request.user))


@role_required(*EDIT_ROLES)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _customer_form_page(request, selectors.get_customer_for_user(request, pk))


@role_required(*EDIT_ROLES)
@require_POST
def customer_toggle_active(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.get_customer_for_user(request, pk)
    services.customer_set_active(customer=customer, active=not customer.is_active)
    state = "active again" if customer.is_active else "now inactive"
    messages.success(request, f"“{customer.display_name}” is {state}.")
    return redirect("customers:detail", pk=customer.pk)


@role_required(*READ_ROLES)
def customer_lookup(request: HttpRequest) -> HttpResponse:
    browse = request.GET.get("browse") == "1"
    q = request.GET.get("q", "")[:MAX_QUERY]
    customers = selectors.customer_lookup(organization=request.organization, q=q, browse=browse,
                                          limit=25 if browse else 10)
    return render(request, "partials/record_lookup.html", {"records": customers})


@role_required(*READ_ROLES)
def invoice_list(request: HttpRequest) -> HttpResponse:
    queryset = Invoice.objects.filter(organization=request.organization).select_related("customer")
    state = list_state(request, queryset, selectors.INVOICE_LIST)
    return render(request, "customers/invoice_list.html", {"state": state})


@role_required(*EDIT_ROLES)
def invoice_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    chosen = None
    if request.method == "POST":
        form = InvoiceForm(request.POST, organization=organization)
        if form.is_valid():
            data = form.cleaned_data
            try:
                invoice = services.invoice_create(organization=organization, **data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Invoice {invoice.number} saved for {invoice.customer.display_name}.")
                return redirect("customers:detail", pk=invoice.customer_id)
        chosen = form.cleaned_data.get("customer")
    else:
        today = timezone.localdate()
        initial = {
            "number": services.next_invoice_number(organization=organization),
            "date": today,
            "due_date": today + datetime.timedelta(days=30),
        }
        asked = record_id(request.GET.get("customer"))
        if asked is not None:
            chosen = selectors.active_customer(organization=organization, pk=asked)
            if chosen:
                initial["customer"] = chosen.pk
        form = InvoiceForm(initial=initial, organization=organization)
    posted = record_id(form.data.get("customer"))
    if chosen is None and posted is not None:
        chosen = Customer.objects.filter(organization=organization, pk=posted).first()
    return render(request, "customers/invoice_form.html", {"form": form, "chosen_customer": chosen})


@role_required(*EDIT_ROLES)
@require_POST
def invoice_record_payment(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.get_invoice_for_user(request, pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.invoice_record_payment(invoice=invoice, amount=form.cleaned_data["amount"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Payment recorded on {invoice.number}.")
    else:
        messages.error(request, "Enter a valid amount.")
    return redirect("customers:detail", pk=invoice.customer_id)


@role_required(*EDIT_ROLES)
@require_POST
def invoice_refresh_statuses(request: HttpRequest) -> HttpResponse:
    mark_overdue_invoices.delay_on_commit(request.organization.pk, request.user.pk)
    messages.success(request, "Updating invoice statuses in the background. A notification tells you when it is done.")
    return redirect("customers:invoice_list")
