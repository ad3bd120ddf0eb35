"""Sync status, instant sync, pause/resume, history and its per-record issues, re-sync, delete integration."""

import json
import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integration.crm.errors import CrmError
from integration.models import ConnectionStatus, ErpModel, SyncModule
from integration.selectors import connection_for, get_connection_for_user
from integration.services import client_for
from organizations.listing import MAX_QUERY, ascii_digits, list_state
from organizations.permissions import ADMIN_ROLES, EDIT_ROLES, READ_ROLES, role_required

from . import credits, enqueue, health, importing, notifications, operator, search, selectors, services
from .forms import DeleteIntegrationForm
from .models import RecordLink, RunStatus, SyncRun, Trigger

CRM_ID_LENGTH = RecordLink._meta.get_field("crm_id").max_length
log = logging.getLogger(__name__)


@role_required(*READ_ROLES)
def module_status(request: HttpRequest, module: str) -> HttpResponse:
    module_config = selectors.get_module_config_for_user(request, module)
    context = {
        "module_config": module_config,
        "current": module_config.runs.in_progress().first(),
        "last": module_config.runs.exclude(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).first(),
        "refusal": credits.run_refusal(module_config),
        "notifications": notifications.status(connection=module_config.connection),
        "health": health.module_health(module_config),
        "held": operator.held_deletions(module_config=module_config)[:200],
    }
    template = "sync/partials/status.html" if request.htmx else "sync/status.html"
    return render(request, template, context)


@role_required(*ADMIN_ROLES)
@require_POST
def instant_sync(request: HttpRequest, module: str) -> HttpResponse:
    module_config = selectors.get_module_config_for_user(request, module)
    run, started, message = enqueue.sync_now(module_config=module_config, trigger=Trigger.INSTANT)
    (messages.success if started else messages.warning)(request, message)
    return redirect("sync:status", module=module)


@role_required(*ADMIN_ROLES)
@require_POST
def pause(request: HttpRequest, module: str) -> HttpResponse:
    module_config = selectors.get_module_config_for_user(request, module)
    services.module_pause(module_config=module_config)
    messages.success(request, f"{module_config.get_module_display()} sync is paused.")
    return redirect("sync:status", module=module)


@role_required(*ADMIN_ROLES)
@require_POST
def resume(request: HttpRequest, module: str) -> HttpResponse:
    module_config = selectors.get_module_config_for_user(request, module)
    services.module_resume(module_config=module_config)
    messages.success(request, f"{module_config.get_module_display()} sync is resumed.")
    return redirect("sync:status", module=module)


@role_required(*READ_ROLES)
def history(request: HttpRequest) -> HttpResponse:
    runs = SyncRun.objects.filter(organization=request.organization)
    module = request.GET.get("module", "")
    if module in SyncModule.values:
        runs = runs.filter(module=module)
    state = list_state(request, runs, selectors.HISTORY)
    return render(
        request,
        "sync/history.html",
        {
            "state": state,
            "module": module,
            "module_choices": SyncModule.choices,
            "chart": selectors.chart_points(runs.order_by("-queued_at")[:40]),
            "daily": selectors.daily_chart(health.daily(runs)),
        },
    )


@role_required(*READ_ROLES)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.get_run_for_user(request, pk)
    issues = run.issues.all()[:500]
    return render(request, "sync/run_detail.html", {"run": run, "issues": issues})


ERP_MODELS = {ErpModel.CUSTOMER: "customers:detail", ErpModel.VENDOR: "vendors:detail"}


@role_required(*EDIT_ROLES)
@require_POST
def resync(request: HttpRequest, erp_model: str, pk: int) -> HttpResponse:
    if erp_model not in ERP_MODELS:
        raise Http404
    link = selectors.link_for(organization=request.organization, erp_model=erp_model, erp_id=pk)
    if link is None:
        raise Http404("This record is not linked to the CRM.")
    level, message, still_here = services.record_resync(link=link)
    getattr(messages, level)(request, message)
    if not still_here:
        return redirect(ERP_MODELS[erp_model].replace(":detail", ":list"))
    return redirect(ERP_MODELS[erp_model], pk=pk)


@role_required(*ADMIN_ROLES)
def delete_integration(request: HttpRequest) -> HttpResponse:
    connection = get_connection_for_user(request)
    if connection.status != ConnectionStatus.DISABLED:
        messages.error(request, "Disable the integration before deleting it.")
        return redirect("integration:details")
    form = DeleteIntegrationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        enqueue.integration_delete_request(connection=connection, mode=form.cleaned_data["mode"], user=request.user)
        messages.success(request, "The integration is being deleted in the background. A notification tells "
                                  "you when it is done.")
        return redirect(reverse("integration:zoho_apps"))
    counts = services.integration_delete_preview(connection=connection)
    preview = [(mode, label, [counts[mode][name] for name in ("customers", "vendors", "items")])
               for mode, label in form.fields["mode"].choices]
    return render(request, "sync/delete_integration.html", {"form": form, "connection": connection, "preview": preview})


# The criteria of each search, as the help page names them: request parameter -> label.
SEARCH_CRITERIA = {
    "customers": {"account_name": "Account Name", "first_name": "First Name", "last_name": "Last Name"},
    "vendors": {"vendor_name": "Vendor Name"},
}


@role_required(*EDIT_ROLES)
def crm_search(request: HttpRequest, module: str) -> HttpResponse:
    """The Zoho CRM tab of Advanced Search, after Search is pressed: live results from the CRM, marked when
    already imported."""
    if module not in SEARCH_CRITERIA:
        raise Http404
    connection = connection_for(request.organization)
    criteria = {name: request.GET.get(name, "").strip()[:MAX_QUERY] for name in SEARCH_CRITERIA[module]}
    context = {"module": module, "hits": [], "error": "", "searched": any(criteria.values()),
               "criteria": ", ".join(v for v in criteria.values() if v)}
    if connection is None:
        context["error"] = "Zoho CRM is not connected. Search the records here instead."
    elif not connection.is_active:
        context["error"] = "The Zoho CRM integration is disabled, so the CRM cannot be searched or imported from."
    elif context["searched"]:
        try:
            context["hits"] = _search(connection, module, criteria)
        except CrmError as error:
            log.warning("CRM search failed: %s", type(error).__name__)
            context["error"] = ("Zoho CRM could not be reached just now, so there are no CRM results. "
                                "The records here can still be searched.")
    return render(request, "sync/partials/crm_search.html", context)


def _search(connection, module: str, criteria: dict) -> list:
    client = client_for(connection, retry_budget=10, max_attempts=3)
    if module == "vendors":
        return search.search_vendors(connection=connection, client=client, **criteria)
    config = connection.module_configs.filter(module=SyncModule.CUSTOMERS).first()
    return search.search_customers(connection=connection, client=client, contacts_as=config.crm_source if config else "",
                                   **criteria)


@role_required(*EDIT_ROLES)
@require_POST
def crm_import(request: HttpRequest, module: str) -> HttpResponse:
    """Select a CRM record in Advanced Search: import it (once) and pick it on the form."""
    if module not in SEARCH_CRITERIA:
        raise Http404
    connection = get_connection_for_user(request)
    crm_module = request.POST.get("crm_module", "")
    allowed = {"customers": ("Accounts", "Contacts"), "vendors": ("Vendors",)}[module]
    crm_id = request.POST.get("crm_id", "")
    # A Zoho record id: digits, no longer than a link holds.
    if crm_module not in allowed or not (ascii_digits(crm_id) and len(crm_id) <= CRM_ID_LENGTH):
        raise Http404
    if not connection.is_active:
        return render(request, "sync/partials/crm_import.html",
                      {"error": "The Zoho CRM integration is disabled: nothing can be imported from the CRM."})
    try:
        record, created = importing.import_record(
            connection=connection, crm_module=crm_module, crm_id=crm_id
        )
    except importing.ImportRefused as error:
        return render(request, "sync/partials/crm_import.html", {"error": str(error)})
    response = render(request, "sync/partials/crm_import.html", {"record": record, "created": created})
    response["HX-Trigger"] = json.dumps({"crm-record-picked": {"id": record.pk, "name": record.display_name}})
    return response


@csrf_exempt
@require_POST
def crm_notify(request: HttpRequest) -> HttpResponse:
    """Zoho CRM's notification callbacks (not a page: no session, the channel's token is the check).
    Answered at once; the records are fetched by a task."""
    if int(request.headers.get("Content-Length") or 0) > notifications.MAX_BODY:
        return HttpResponse(status=413)
    try:
        channel, module, ids, outcome = notifications.callback_receive(request.body)
    except notifications.Refused as refused:
        log.info("notification callback refused (%s): %s", refused.status, refused)
        return HttpResponse(status=refused.status)
    if outcome == "queued" and ids:
        enqueue.notification_run_request(channel=channel)
    return JsonResponse({"status": outcome}, status=202)
