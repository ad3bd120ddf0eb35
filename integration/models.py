import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from organizations.models import Organization

from .encryption import EncryptedTextField


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
    # Invoice changes ask for one accounting-metrics push a minute later; set while one is pending.
    metrics_due_at = models.DateTimeField(null=True, blank=True)
    metrics_pushed_at = models.DateTimeField(null=True, blank=True)
    # The CRM modules in which the accounting metrics' fields were found or created.
    metrics_fields = models.JSONField(default=list, blank=True)
    users_read_at = models.DateTimeField(null=True, blank=True)  # the CRM's users last read and matched
    # API credits: what the CRM last said is left of its daily allowance (X-API-CREDITS-REMAINING, sent once
    # half is used), and the share of the allowance this connection may use (the rest is other tools').
    credits_remaining = models.PositiveIntegerField(null=True, blank=True)
    credits_remaining_at = models.DateTimeField(null=True, blank=True)
    credit_budget_percent = models.PositiveSmallIntegerField(default=80)
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


class DeletionHold(models.TextChoices):
    THRESHOLD = "threshold", "Ask when many records go at once"
    ALWAYS = "always", "Always ask"
    NEVER = "never", "Never ask"


class SyncModule(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    VENDORS = "vendors", "Vendors"
    ITEMS = "items", "Items"


class ErpModel(models.TextChoices):
    """The kinds of ERP record that sync: what a field mapping targets and what a record link points at."""

    CUSTOMER = "customer", "Customer"
    CONTACT_PERSON = "contact_person", "Contact person"
    VENDOR = "vendor", "Vendor"
    ITEM = "item", "Item"

    @property
    def module(self) -> str:
        """The module configuration (SyncModule) that syncs records of this kind."""
        if self in (ErpModel.CUSTOMER, ErpModel.CONTACT_PERSON):
            return SyncModule.CUSTOMERS
        return SyncModule.VENDORS if self == ErpModel.VENDOR else SyncModule.ITEMS


class CrmSource(models.TextChoices):
    ACCOUNTS = "accounts", "Accounts"
    CONTACTS = "contacts", "Contacts"
    ACCOUNTS_AND_CONTACTS = "accounts_and_contacts", "Accounts & their Contacts"


class Direction(models.TextChoices):
    FETCH = "fetch", "Fetch from CRM"
    BOTH = "both", "Sync both ways"


class DuplicateKey(models.TextChoices):
    NAME = "name", "Name"
    SKU = "sku", "SKU"


class DuplicateAction(models.TextChoices):
    CLONE = "clone", "Clone"
    OVERWRITE = "overwrite", "Overwrite"
    SKIP = "skip", "Skip"


class ModuleConfigQuerySet(models.QuerySet):
    def due(self, *, now=None):
        """Modules whose scheduled sync is due: configured, not paused, connection active, next run passed.
        A module without a next run time waits: saving a configuration always sets one."""
        now = now or timezone.now()
        return (self.select_related("connection")
                .filter(configured=True, paused=False, connection__status=ConnectionStatus.ACTIVE,
                        next_run_at__lte=now))


class ModuleConfig(models.Model):
    """How one ERP module syncs with the CRM. Changes apply to the next run."""

    # What an admin chooses on the configuration page (and `crm_configure`); the rest is the sync's own.
    EDITABLE_FIELDS = ("crm_source", "include_orphan_contacts", "direction", "duplicate_key", "duplicate_action",
                       "crm_view_id", "contact_view_id", "interval_minutes", "deletion_hold", "hold_over",
                       "hold_over_percent")
    # How often the module polls the CRM: every two hours by default (the safety net under notifications).
    INTERVALS = ((5, "Every 5 minutes"), (15, "Every 15 minutes"), (30, "Every 30 minutes"), (60, "Every hour"),
                 (120, "Every 2 hours"))

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="module_configs")
    module = models.CharField(max_length=16, choices=SyncModule.choices)
    crm_source = models.CharField(max_length=24, choices=CrmSource.choices, blank=True)
    include_orphan_contacts = models.BooleanField(default=False)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.FETCH)
    duplicate_key = models.CharField(max_length=8, choices=DuplicateKey.choices, default=DuplicateKey.NAME)
    duplicate_action = models.CharField(max_length=10, choices=DuplicateAction.choices, default=DuplicateAction.SKIP)
    crm_view_id = models.CharField(max_length=40, blank=True, help_text="Custom view of the main CRM module")
    contact_view_id = models.CharField(max_length=40, blank=True, help_text="Contacts view (Accounts & Contacts)")
    paused = models.BooleanField(default=False)
    interval_minutes = models.PositiveIntegerField(default=120)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Where the sync has got to in each CRM module; its shape is documented in sync/engine/cursor.py.
    crm_cursor = models.JSONField(default=dict, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    # Deletions in the CRM that a run holds for an admin's approval: more than `hold_over` records and
    # more than `hold_over_percent` % of the module's linked records at once (or always, or never).
    deletion_hold = models.CharField(max_length=10, choices=DeletionHold.choices, default=DeletionHold.THRESHOLD)
    hold_over = models.PositiveIntegerField(default=20)
    hold_over_percent = models.PositiveSmallIntegerField(default=10)
    # A mapped CRM field that is gone or no longer converts: the module's runs stop until it is fixed.
    broken_mapping = models.JSONField(default=list, blank=True)  # [{"crm_module", "crm_field", "erp_field", "why"}]
    # Records saved here ask for one push a moment later; set while that push is queued.
    save_push_due_at = models.DateTimeField(null=True, blank=True)
    configured = models.BooleanField(default=False)
    configured_at = models.DateTimeField(null=True, blank=True)
    configured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ModuleConfigQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "module"], name="one_config_per_module"),
            models.CheckConstraint(
                condition=~(Q(duplicate_key="sku") & Q(duplicate_action="clone")), name="sku_duplicates_never_clone",
                violation_error_message="Clone is not offered when duplicates are identified by SKU.",
            ),
            models.CheckConstraint(condition=Q(interval_minutes__gte=5), name="interval_at_least_five_minutes"),
        ]

    def __str__(self):
        return f"{self.connection.organization}: {self.get_module_display()}"

    def sync_refusal(self) -> str | None:
        """Why this module may not sync now, or None."""
        connection = self.connection
        if connection.status == ConnectionStatus.DISABLED:
            return "The Zoho CRM integration is disabled."
        if connection.status == ConnectionStatus.NEEDS_REAUTH:
            return "Zoho CRM needs to be authorized again before anything syncs."
        if not self.configured:
            return "This module is not configured for sync yet."
        if self.paused:
            return f"{self.get_module_display()} sync is paused."
        return None

    @property
    def interval_text(self) -> str:
        """The schedule in words: "every 2 hours", "every 30 minutes"."""
        hours, minutes = divmod(self.interval_minutes, 60)
        if minutes or not hours:
            return f"every {self.interval_minutes} minute{'s' if self.interval_minutes != 1 else ''}"
        return "every hour" if hours == 1 else f"every {hours} hours"

    def hold_text(self) -> str:
        """When deletions in the CRM wait for an admin, in words."""
        if self.deletion_hold == DeletionHold.ALWAYS:
            return "it always asks"
        if self.deletion_hold == DeletionHold.NEVER:
            return "it never asks"
        return f"more than {self.hold_over} records and more than {self.hold_over_percent} % of its linked records"

    def schedule_next(self, *, after=None) -> None:
        """The next scheduled run, one interval after `after` (now); not saved."""
        self.next_run_at = (after or timezone.now()) + datetime.timedelta(minutes=self.interval_minutes)

    @property
    def syncs_both_ways(self) -> bool:
        """Whether ERP changes go to the CRM: two-way chosen, and allowed for this connection."""
        return self.direction == Direction.BOTH and self.connection.two_way_allowed

    @property
    def erp_goes_first(self) -> bool:
        """Items sync ERP first when two-way: their conflicts are won by the ERP and pushed before the fetch."""
        return self.syncs_both_ways and self.module == SyncModule.ITEMS


class FieldMapping(models.Model):
    """One ERP field fed by (and, both ways, feeding) one CRM field."""

    module_config = models.ForeignKey(ModuleConfig, on_delete=models.CASCADE, related_name="field_mappings")
    target = models.CharField(max_length=16, choices=ErpModel.choices)
    crm_module = models.CharField(max_length=40)
    crm_field = models.CharField(max_length=100)
    crm_data_type = models.CharField(max_length=40, blank=True)
    erp_field = models.CharField(max_length=100, help_text="A model field, or cf:<api_name> for a custom field")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.BOTH)

    class Meta:
        ordering = ["target", "id"]
        constraints = [
            models.UniqueConstraint(fields=["module_config", "target", "erp_field"], name="one_crm_field_per_erp_field"),
        ]

    def __str__(self):
        return f"{self.crm_module}.{self.crm_field} → {self.target}.{self.erp_field}"


class CrmFieldCache(models.Model):
    """The CRM's field metadata of one module, as last read: mapped fields are checked against it before
    each run reads the module (read again daily, and whenever the CRM says a field is unknown)."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="field_caches")
    crm_module = models.CharField(max_length=40)
    fields = models.JSONField(default=list)
    read_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "crm_module"], name="one_field_cache_per_module")]

    def __str__(self):
        return f"{self.crm_module} fields of {self.connection} ({self.read_at:%Y-%m-%d %H:%M})"
