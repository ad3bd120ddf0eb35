import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class Organization(models.Model):
    name = models.CharField(max_length=120, unique=True)
    email = models.EmailField()
    country = models.CharField(max_length=80)
    base_currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. USD")
    # Set by the CRM integration while a CRM organization is connected (disabled or not): the lists offer
    # their "CRM Customers" / "CRM Vendors" views only then.
    crm_connected = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        self.base_currency = (self.base_currency or "").upper()
        if not re.fullmatch(r"[A-Z]{3}", self.base_currency):
            raise ValidationError({"base_currency": "Use a three-letter ISO currency code, such as USD."})


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    FINANCE = "finance", "Finance"
    OPS = "ops", "Operations"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # Admins are told of sync incidents in the app; those who keep this on are also told by email.
    alert_emails = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")]
        ordering = ["organization__name"]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_edit_records(self) -> bool:
        return self.role in (Role.ADMIN, Role.FINANCE)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def member_name(user) -> str:
    """How a member is called in pages and pickers: full name, else email, else username."""
    if user is None:
        return ""
    return user.get_full_name() or user.email or user.username


class Notification(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=500)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "organization", "read_at"])]

    def __str__(self):
        return self.message


class CustomFieldModule(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    VENDORS = "vendors", "Vendors"
    ITEMS = "items", "Items"


class CustomFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DECIMAL = "decimal", "Decimal"
    DATE = "date", "Date"
    BOOLEAN = "boolean", "Yes / No"
    CHOICE = "choice", "Choice"


class CustomField(models.Model):
    """A field an organization adds to customers, vendors or items; values live in `custom_fields`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="custom_fields")
    module = models.CharField(max_length=16, choices=CustomFieldModule.choices)
    label = models.CharField(max_length=80)
    api_name = models.CharField(max_length=80)
    data_type = models.CharField(max_length=16, choices=CustomFieldType.choices)
    options = models.JSONField(default=list, blank=True, help_text="Allowed values of a choice field")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["module", "label"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "module", "api_name"], name="unique_custom_field_name"),
        ]

    def __str__(self):
        return f"{self.get_module_display()}: {self.label}"

    def clean(self):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.api_name or ""):
            raise ValidationError({"api_name": "Start with a letter; use letters, digits and underscores only."})
        if self.data_type == CustomFieldType.CHOICE:
            if not self.options or not all(isinstance(o, str) and o.strip() for o in self.options):
                raise ValidationError({"options": "A choice field needs at least one option."})
        elif self.options:
            raise ValidationError({"options": "Only choice fields have options."})
