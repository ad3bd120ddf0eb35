"""Settings → Zoho Apps: connect a CRM organization (OAuth, select organization), details, disable, enable."""

import json
import secrets as token_generator
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from organizations.permissions import ADMIN_ROLES, role_required

from . import secrets, services
from .crm.client import CrmClient, exchange_grant_code
from .crm.errors import CrmError
from .crm.urls import check_crm_url
from .forms import ConfirmForm, SelectOrganizationForm
from .models import ConnectionStatus

PENDING = "zoho_pending_authorization"


def _redirect_uri(request: HttpRequest) -> str:
    return settings.ZOHO_REDIRECT_URI or request.build_absolute_uri(reverse("integration:oauth_callback"))


def _get_connection_or_404(request):
    connection = services.connection_for(request.organization)
    if connection is None:
        raise Http404("No Zoho CRM connection.")
    return connection


@role_required(*ADMIN_ROLES)
def zoho_apps(request: HttpRequest) -> HttpResponse:
    return render(request, "integration/zoho_apps.html", {"connection": services.connection_for(request.organization)})


@role_required(*ADMIN_ROLES)
def connect(request: HttpRequest) -> HttpResponse:
    """Show what will be shared, then send the admin to Zoho's consent page."""
    connection = services.connection_for(request.organization)
    mode = "reauthorize" if connection is not None else "connect"
    if connection is not None and connection.status == ConnectionStatus.ACTIVE:
        return redirect("integration:details")
    if request.method == "POST":
        try:
            accounts_url = check_crm_url(settings.ZOHO_ACCOUNTS_URL, allow_loopback=settings.CRM_ALLOW_LOOPBACK)
        except CrmError as error:
            messages.error(request, str(error))
            return redirect("integration:zoho_apps")
        if not settings.ZOHO_CLIENT_ID:
            messages.error(request, "ZOHO_CLIENT_ID is not configured; see the README on connecting to Zoho CRM.")
            return redirect("integration:zoho_apps")
        state = token_generator.token_urlsafe(24)
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
    # Zoho says which data centre's accounts server issued the code; it must be a Zoho host too.
    accounts_url = request.GET.get("accounts-server") or settings.ZOHO_ACCOUNTS_URL
    try:
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
        accounts_url=accounts_url.rstrip("/"),
        api_domain=tokens["api_domain"].rstrip("/"),
        # Tokens wait in the session for the organization to be chosen; encrypted like at rest.
        tokens=secrets.encrypt(json.dumps({k: tokens[k] for k in ("access_token", "refresh_token", "expires_in")})),
    )
    request.session[PENDING] = pending
    return redirect("integration:select_organization")


def _pending_client(pending: dict) -> tuple[CrmClient, dict]:
    tokens = json.loads(secrets.decrypt(pending["tokens"]))
    client = CrmClient(
        api_domain=pending["api_domain"],
        accounts_url=pending["accounts_url"],
        client_id=settings.ZOHO_CLIENT_ID,
        client_secret=settings.ZOHO_CLIENT_SECRET,
        refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        access_token_expires_at=services.token_expiry(tokens.get("expires_in")),
        allow_loopback=settings.CRM_ALLOW_LOOPBACK,
        retry_budget=15,
    )
    return client, tokens


@role_required(*ADMIN_ROLES)
def select_organization(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING) or {}
    connection = services.connection_for(request.organization)
    if pending.get("tokens"):
        client, tokens = _pending_client(pending)
    elif connection is not None and connection.status == ConnectionStatus.DISABLED:
        client, tokens = services.client_for(connection, retry_budget=15), None
    else:
        messages.error(request, "Authorize access to Zoho CRM first.")
        return redirect("integration:zoho_apps")
    try:
        crm_orgs = [client.org()]
        crm_users = client.users("ActiveUsers")
    except CrmError as error:
        messages.error(request, f"The CRM organizations could not be read: {error}")
        return redirect("integration:zoho_apps")
    form = SelectOrganizationForm(request.POST if request.method == "POST" else None, crm_orgs=crm_orgs)
    if request.method == "POST" and form.is_valid():
        crm_org = form.selected()
        try:
            if connection is None:
                connection = services.connection_create(
                    organization=request.organization,
                    user=request.user,
                    crm_org=crm_org,
                    api_domain=pending["api_domain"],
                    accounts_url=pending["accounts_url"],
                    client_id=settings.ZOHO_CLIENT_ID,
                    client_secret=settings.ZOHO_CLIENT_SECRET,
                    refresh_token=tokens["refresh_token"],
                    access_token=tokens["access_token"],
                    access_token_expires_at=client.access_token_expires_at,
                    crm_users=crm_users,
                )
                messages.success(request, f"Connected to Zoho CRM organization {connection.crm_org_name}.")
            else:
                services.connection_enable(
                    connection=connection,
                    user=request.user,
                    crm_org=crm_org,
                    refresh_token=tokens["refresh_token"] if tokens else "",
                    access_token=tokens["access_token"] if tokens else "",
                    access_token_expires_at=client.access_token_expires_at if tokens else None,
                )
                services.crm_users_map(connection=connection, crm_users=crm_users)
                messages.success(request, "The Zoho CRM integration is enabled again.")
        except services.ConnectionRefused as error:
            form.add_error(None, str(error))
        else:
            request.session.pop(PENDING, None)
            return redirect("integration:details")
    return render(
        request,
        "integration/select_organization.html",
        {"form": form, "crm_orgs": crm_orgs, "enabling": connection is not None},
    )


@role_required(*ADMIN_ROLES)
def details(request: HttpRequest) -> HttpResponse:
    connection = _get_connection_or_404(request)
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
    """Per ERP module, whether it is configured for sync (module configuration fills this in)."""
    configured = {}
    module_configs = getattr(connection, "module_configs", None)
    if module_configs is not None:
        configured = {c.module: c for c in module_configs.all()}
    return [
        {"key": key, "label": label, "config": configured.get(key)}
        for key, label in (("customers", "Customers"), ("vendors", "Vendors"), ("items", "Items"))
    ]


@role_required(*ADMIN_ROLES)
def disable(request: HttpRequest) -> HttpResponse:
    connection = _get_connection_or_404(request)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.connection_disable(connection=connection, user=request.user)
        messages.success(request, "The Zoho CRM integration is disabled. Nothing syncs until you enable it.")
        return redirect("integration:details")
    return render(request, "integration/disable.html", {"form": form, "connection": connection})


@role_required(*ADMIN_ROLES)
@require_POST
def enable(request: HttpRequest) -> HttpResponse:
    connection = _get_connection_or_404(request)
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        return redirect("integration:connect")
    return redirect("integration:select_organization")
