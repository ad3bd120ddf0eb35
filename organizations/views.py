from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import AlertEmailsForm, CustomFieldForm, SwitchOrganizationForm
from .middleware import SESSION_KEY
from .models import CustomField, Membership, Notification
from .permissions import ADMIN_ROLES, READ_ROLES, role_required
from .services import alert_emails_set, custom_field_create, notifications_mark_read


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.membership is None:
        return render(request, "organizations/no_organization.html", status=403)
    return redirect("customers:list")


@login_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    form = SwitchOrganizationForm(request.POST)
    if form.is_valid():
        membership = Membership.objects.filter(
            user=request.user, organization_id=form.cleaned_data["organization"]
        ).first()
        if membership is not None:
            request.session[SESSION_KEY] = membership.organization_id
            messages.success(request, f"Switched to {membership.organization.name}.")
    return redirect("home")


@role_required(*READ_ROLES)
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's latest notifications; reading the page changes nothing (Mark as read does)."""
    notifications = list(
        Notification.objects.filter(user=request.user, organization=request.organization)[:100]
    )
    context = {"notifications": notifications, "unread": any(n.read_at is None for n in notifications)}
    return render(request, "organizations/notifications.html", context)


@role_required(*READ_ROLES)
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_read(organization=request.organization, user=request.user)
    return redirect("notifications")


@role_required(*READ_ROLES)
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    # Scoped to the user and organization: another user's id marks nothing.
    notifications_mark_read(organization=request.organization, user=request.user, pk=pk)
    return redirect("notifications")


@role_required(*READ_ROLES)
def settings_index(request: HttpRequest) -> HttpResponse:
    """The settings page; admins also choose here who gets sync alerts by email."""
    alerts = None
    if request.membership.is_admin:
        alerts = AlertEmailsForm(request.POST if request.method == "POST" else None, organization=request.organization)
        if request.method == "POST" and alerts.is_valid():
            alert_emails_set(organization=request.organization, memberships=alerts.cleaned_data["admins"])
            messages.success(request, "Alert preferences saved.")
            return redirect("settings")
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "organizations/settings.html", {"alerts": alerts})


@role_required(*ADMIN_ROLES)
def custom_field_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CustomFieldForm(request.POST, organization=request.organization)
        if form.is_valid():
            field = custom_field_create(organization=request.organization, **form.cleaned_data)
            messages.success(request, f"Custom field “{field.label}” added.")
            return redirect("custom_fields")
    else:
        form = CustomFieldForm(organization=request.organization)
    fields = CustomField.objects.filter(organization=request.organization)
    return render(request, "organizations/custom_fields.html", {"form": form, "fields": fields})
