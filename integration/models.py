from django.conf import settings
from django.db import models
from django.db.models import Q

from organizations.models import Organization

from .secrets import EncryptedTextField


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"
    NEEDS_REAUTH = "needs_reauth", "Needs re-authorization"


class CrmConnection(models.Model):
    """One ERP organization's link to one Zoho CRM organization, with its (encrypted) OAuth tokens."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="crm_connections")
    crm_org_id = models.CharField(max_length=40)
    crm_org_name = models.CharField(max_length=255, blank=True)
    crm_edition = models.CharField(max_length=40, blank=True)
    crm_currency = models.CharField(max_length=3, blank=True)
    crm_multi_currency = models.BooleanField(default=False)
    crm_time_zone = models.CharField(max_length=60, blank=True)
    api_domain = models.URLField()
    accounts_url = models.URLField()
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField()
    refresh_token = EncryptedTextField()
    access_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE)
    status_message = models.CharField(max_length=500, blank=True)
    two_way_allowed = models.BooleanField(default=False)
    connected_at = models.DateTimeField(auto_now_add=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_crm_connection_per_org"),
            # Only one ERP organization per CRM organization syncs both ways.
            models.UniqueConstraint(
                fields=["crm_org_id"], condition=Q(two_way_allowed=True), name="one_two_way_connection_per_crm_org"
            ),
        ]

    def __str__(self):
        return f"{self.organization} ⇄ CRM {self.crm_org_name or self.crm_org_id}"

    @property
    def is_active(self) -> bool:
        return self.status == ConnectionStatus.ACTIVE


class CrmUser(models.Model):
    """A CRM user and the ERP user with the same email, if any: it sets record owners both ways."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="crm_users")
    crm_user_id = models.CharField(max_length=40)
    email = models.EmailField(blank=True)
    full_name = models.CharField(max_length=255, blank=True)
    erp_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="crm_identities"
    )

    class Meta:
        ordering = ["full_name"]
        constraints = [models.UniqueConstraint(fields=["connection", "crm_user_id"], name="unique_crm_user")]

    def __str__(self):
        return f"{self.full_name} <{self.email}>"


class ConnectionEvent(models.Model):
    """Who connected, disabled, enabled or re-authorized the integration, and when."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=40)
    detail = models.CharField(max_length=500, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.action} by {self.user} at {self.created_at:%Y-%m-%d %H:%M}"
