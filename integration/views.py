"""Settings → Zoho Apps: connect a CRM organization (OAuth, select organization), details, disable, enable."""

import json
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from organizations.permissions import ADMIN_ROLES, role_required

from . import catalogue, encryption, selectors, services
from .crm.client import CrmClient, exchange_grant_code
from .crm.errors import CrmError
from .crm.urls import check_accounts_url
from .forms import ConfirmForm, ModuleConfigForm, SelectOrganizationForm, crm_source_chosen
from .models import ConnectionStatus, CrmSource, ErpModel, SyncModule

PENDING = "zoho_pending_authorization"


def _redirect_uri(request: HttpRequest) -> str:
    return settings.ZOHO_REDIRECT_URI or request.build_absolute_uri(reverse("integration:oauth_callback"))


@role_required(*ADMIN_ROLES)
def zoho_apps(request: HttpRequest) -> HttpResponse:
    return render(request, "integration/zoho_apps.html", {"connection": selectors.connection_for(request.organization)})


@role_required(*ADMIN_ROLES)
def connect(request: HttpRequest) -> HttpResponse:
    """Show what will be shared, then send the admin to Zoho's consent page."""
    connection = selectors.connection_for(request.organization)
    mode = "reauthorize" if connection is not None else "connect"
    if connection is not None and connection.status == ConnectionStatus.ACTIVE:
        return redirect("integration:details")
    if request.method == "POST":
        try:
            accounts_url = check_accounts_url(settings.ZOHO_ACCOUNTS_URL, allow_loopback=settings.CRM_ALLOW_LOOPBACK)
        except CrmError as error:
            messages.error(request, str(error))
            return redirect("integration:zoho_apps")
        if not settings.ZOHO_CLIENT_ID:
            messages.error(request, "ZOHO_CLIENT_ID is not configured; see the README on connecting to Zoho CRM.")
            return redirect("integration:zoho_apps")
        state = secrets.token_urlsafe(24)
        request.session[PENDING] = {"state": state, "mode": mode}
        query = urlencode({
            "scope": settings.ZOHO_SCOPES,
            "client_id": settings.ZOHO_CLIENT_ID,
            "response_type": "code",
            "access_type": "offline",
            "prompt": "consent",
            "redirect_uri": _redirect_uri(request),
            "state": state,
        })
        return redirect(f"{accounts_url}/oauth/v2/auth?{query}")
    return render(
        request,
        "integration/connect.html",
        {"shared": services.shared_details(organization=request.organization), "mode": mode},
    )


@role_required(*ADMIN_ROLES)
def oauth_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING) or {}
    if not pending.get("state") or request.GET.get("state") != pending["state"]:
        messages.error(request, "The authorization could not be verified (it expired or was started elsewhere). "
                                "Start again.")
        return redirect("integration:zoho_apps")
    if request.GET.get("error"):
        request.session.pop(PENDING, None)
        messages.error(request, f"Zoho did not grant access: {request.GET['error'][:100]}.")
        return redirect("integration:zoho_apps")
    # Zoho says which data centre's accounts server issued the code; it must be a Zoho accounts server too.
    try:
        accounts_url = check_accounts_url(request.GET.get("accounts-server") or settings.ZOHO_ACCOUNTS_URL,
                                          allow_loopback=settings.CRM_ALLOW_LOOPBACK)
        tokens = exchange_grant_code(
            accounts_url=accounts_url,
            client_id=settings.ZOHO_CLIENT_ID,
            client_secret=settings.ZOHO_CLIENT_SECRET,
            code=request.GET.get("code", ""),
            redirect_uri=_redirect_uri(request),
            allow_loopback=settings.CRM_ALLOW_LOOPBACK,
        )
    except CrmError as error:
        request.session.pop(PENDING, None)
        messages.error(request, str(error))
        return redirect("integration:zoho_apps")
    pending.update(
        state="",
        accounts_url=accounts_url,
        api_domain=tokens["api_domain"],
        # Tokens wait in the session for the organization to be chosen; encrypted like at rest.
        tokens=encryption.encrypt(json.dumps({k: tokens[k] for k in ("access_token", "refresh_token", "expires_in")})),
    )
    request.session[PENDING] = pending
    return redirect("integration:select_organization")


def _pending_client(pending: dict) -> tuple[CrmClient, dict]:
    tokens = json.loads(encryption.decrypt(pending["tokens"]))
    client = services.crm_client(
        api_domain=pending["api_domain"],
        accounts_url=pending["accounts_url"],
        client_id=settings.ZOHO_CLIENT_ID,
        client_secret=settings.ZOHO_CLIENT_SECRET,
        refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        access_token_expires_at=services.token_expiry(tokens.get("expires_in")),
        retry_budget=15,
    )
    return client, tokens


@role_required(*ADMIN_ROLES)
def select_organization(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING) or {}
    connection = selectors.connection_for(request.organization)
    if pending.get("tokens"):
        client, tokens = _pending_client(pending)
    elif connection is not None and connection.status == ConnectionStatus.DISABLED:
        client, tokens = services.client_for(connection, retry_budget=15), None
    else:
        messages.error(request, "Authorize access to Zoho CRM first.")
        return redirect("integration:zoho_apps")
    try:
        crm_orgs = [client.org()]
    except CrmError as error:
        messages.error(request, f"The CRM organizations could not be read: {error}")
        return redirect("integration:zoho_apps")
    form = SelectOrganizationForm(request.POST if request.method == "POST" else None, crm_orgs=crm_orgs)
    if request.method == "POST" and form.is_valid():
        try:
            crm_users = client.users("ActiveUsers")
        except CrmError as error:
            messages.error(request, f"The CRM organizations could not be read: {error}")
            return redirect("integration:zoho_apps")
        try:
            _connect_or_enable(request, connection, pending, client, tokens, form.selected(), crm_users)
        except services.ConnectionRefused as error:
            form.add_error(None, str(error))
        else:
            request.session.pop(PENDING, None)
            return redirect("integration:details")
    return render(request, "integration/select_organization.html", {"form": form, "enabling": connection is not None})


def _connect_or_enable(request, connection, pending: dict, client: CrmClient, tokens: dict | None, crm_org: dict,
                       crm_users: list[dict]) -> None:
    """Connect the organization to the chosen CRM organization, or enable its disabled connection again."""
    if connection is None:
        connection = services.connection_create(
            organization=request.organization, user=request.user, crm_org=crm_org,
            api_domain=pending["api_domain"], accounts_url=pending["accounts_url"],
            client_id=settings.ZOHO_CLIENT_ID, client_secret=settings.ZOHO_CLIENT_SECRET,
            refresh_token=tokens["refresh_token"], access_token=client.access_token,
            access_token_expires_at=client.access_token_expires_at, crm_users=crm_users,
        )
        messages.success(request, f"Connected to Zoho CRM organization {connection.crm_org_name}.")
        return
    with transaction.atomic():  # CRM users refused (a value too long) leave the connection as it was
        services.connection_enable(
            connection=connection, user=request.user, crm_org=crm_org,
            refresh_token=tokens["refresh_token"] if tokens else "",
            access_token=client.access_token if tokens else "",
            access_token_expires_at=client.access_token_expires_at if tokens else None,
        )
        services.crm_users_map(connection=connection, crm_users=crm_users)
    messages.success(request, "The Zoho CRM integration is enabled again.")


@role_required(*ADMIN_ROLES)
def details(request: HttpRequest) -> HttpResponse:
    connection = selectors.get_connection_for_user(request)
    return render(
        request,
        "integration/details.html",
        {
            "connection": connection,
            "events": connection.events.select_related("user")[:10],
            "modules": _module_summaries(connection),
            "crm_users": connection.crm_users.select_related("erp_user"),
        },
    )


def _module_summaries(connection) -> list[dict]:
    """Per ERP module, its sync configuration (None when never opened)."""
    configured = {c.module: c for c in connection.module_configs.all()}
    return [
        {"key": key, "label": label, "config": configured.get(key)}
        for key, label in SyncModule.choices
    ]


@role_required(*ADMIN_ROLES)
def disable(request: HttpRequest) -> HttpResponse:
    connection = selectors.get_connection_for_user(request)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.connection_disable(connection=connection, user=request.user)
        messages.success(request, "The Zoho CRM integration is disabled. Nothing syncs until you enable it.")
        return redirect("integration:details")
    return render(request, "integration/disable.html", {"form": form, "connection": connection})


@role_required(*ADMIN_ROLES)
def enable(request: HttpRequest) -> HttpResponse:
    """Enable Integration: confirm, then choose the organization again (and Save)."""
    connection = selectors.get_connection_for_user(request)
    if connection.status == ConnectionStatus.ACTIVE:
        return redirect("integration:details")
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if connection.status == ConnectionStatus.NEEDS_REAUTH:
            return redirect("integration:connect")
        return redirect("integration:select_organization")
    return render(request, "integration/enable.html", {"form": form, "connection": connection})


MODULE_LABELS = dict(SyncModule.choices)


@role_required(*ADMIN_ROLES)
def configure_module(request: HttpRequest, module: str) -> HttpResponse:
    if module not in MODULE_LABELS:
        raise Http404
    connection = selectors.get_connection_for_user(request)
    if not connection.is_active:
        messages.error(request, "Enable the integration before configuring modules.")
        return redirect("integration:details")
    posted = request.method == "POST" and "save" in request.POST
    # Only a posted form makes the module's row; the page itself is a pure read.
    module_config = (services.module_config_for(connection=connection, module=module) if posted
                     else selectors.module_config_or_new(connection=connection, module=module))
    asked = request.GET.get("crm_source") or module_config.crm_source
    crm_source = crm_source_chosen(module=module, saved=module_config.crm_source,
                                   posted=request.POST if posted else None, asked=asked)
    try:
        metadata = selectors.metadata_load(
            client=services.client_for(connection, retry_budget=20), module=module, crm_source=crm_source
        )
    except CrmError as error:
        messages.error(request, f"The CRM's fields and views could not be read: {error}")
        return redirect("integration:details")
    form = ModuleConfigForm(request.POST if posted else None, initial={"crm_source": asked}, instance=module_config,
                            metadata=metadata)
    if posted and form.is_valid():
        sync_now = request.POST["save"] == "sync"
        if request.POST["save"] == "preview":
            services.module_config_save(form=form, user=request.user, sync_now=False, preview=True)
            return redirect("sync:preview", module=module)
        services.module_config_save(form=form, user=request.user, sync_now=sync_now)
        if sync_now:
            messages.success(request, f"{MODULE_LABELS[module]} saved; the sync is queued.")
        else:
            messages.success(request, f"{MODULE_LABELS[module]} saved. It syncs at the next scheduled run.")
        return redirect("integration:details")
    return render(
        request,
        "integration/configure_module.html",
        {
            "form": form,
            "module": module,
            "module_label": MODULE_LABELS[module],
            "module_config": module_config,
            "currency_problem": form.currency_problem,
            "unmapped": _unmapped_crm_fields(form),
        },
    )


def _unmapped_crm_fields(form) -> list[dict]:
    """CRM fields no ERP field is mapped to, offered for "Create custom field"."""
    rows = []
    for section in form.sections:
        used = {form[key].value() for _, key, _ in form.mapping_rows[section.target]}
        offered, _ = catalogue.offered_crm_fields(form.metadata.fields.get(section.crm_module, []))
        for crm_field in offered:
            if crm_field["api_name"] in used or not catalogue.can_become_custom_field(section.target, crm_field):
                continue
            if catalogue.crm_field_read_only(crm_field):
                continue
            rows.append({"target": section.target, "crm_module": section.crm_module, "field": crm_field})
    return rows


@role_required(*ADMIN_ROLES)
@require_POST
def create_custom_field(request: HttpRequest, module: str) -> HttpResponse:
    if module not in MODULE_LABELS:
        raise Http404
    connection = selectors.get_connection_for_user(request)
    module_config = services.module_config_for(connection=connection, module=module)
    crm_module = request.POST.get("crm_module", "")
    target = request.POST.get("target", "")
    if crm_module not in catalogue.CRM_MODULES[module] or target not in (ErpModel.CUSTOMER, ErpModel.VENDOR, ErpModel.ITEM):
        raise Http404
    try:
        crm_fields = services.client_for(connection, retry_budget=20).fields(crm_module)
    except CrmError as error:
        messages.error(request, f"The CRM's fields could not be read: {error}")
        return redirect("integration:configure", module=module)
    crm_field = next((f for f in crm_fields if f.get("api_name") == request.POST.get("crm_field")), None)
    if crm_field is None:
        raise Http404
    try:
        definition = services.custom_field_from_crm(
            module_config=module_config, target=target, crm_module=crm_module, crm_field=crm_field
        )
    except (ValueError, ValidationError) as error:
        messages.error(request, f"No custom field was created: {error}")
    else:
        messages.success(request, f"Custom field “{definition.label}” created and mapped to {crm_field['api_name']}.")
    crm_source = request.POST.get("crm_source") or module_config.crm_source
    query = f"?crm_source={crm_source}" if crm_source in CrmSource.values else ""
    return redirect(reverse("integration:configure", args=[module]) + query)
