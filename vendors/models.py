from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Sum

from customers.models import InvoiceStatus
from organizations.models import Organization


class Vendor(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="vendors")
    display_name = models.CharField(max_length=255)
    company_name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    website = models.CharField(max_length=255, blank=True)
    street = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    zip_code = models.CharField(max_length=30, blank=True)
    country = models.CharField(max_length=100, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    notes = models.TextField(blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    # The person responsible for the record; with a CRM connected, it follows the CRM record's Owner
    # (matched by email). Not indexed: nothing lists records by owner, and every insert would pay for it.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)
    # Linked to a CRM record: kept by the CRM integration after each sync, for the "CRM" list view.
    crm_linked = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["display_name", "id"]
        indexes = [
            models.Index(
                fields=["organization", "display_name", "id"], condition=Q(crm_linked=True), name="vendor_crm_name"
            ),
            models.Index(fields=["organization", "display_name", "id"], name="vendor_org_name"),
            models.Index(fields=["organization", "-created_at"], name="vendor_org_created"),
        ]

    def __str__(self):
        return self.display_name

    def clean(self):
        self.display_name = (self.display_name or "").strip()
        if not self.display_name:
            raise ValidationError({"display_name": "A vendor needs a display name."})
        self.currency = (self.currency or "").upper()

    def payables(self) -> dict:
        totals = self.bills.exclude(status=InvoiceStatus.VOID).aggregate(
            purchases=Sum("total"), outstanding=Sum("balance", filter=~Q(status=InvoiceStatus.DRAFT))
        )
        return {
            "total_purchases": totals["purchases"] or Decimal("0"),
            "outstanding": totals["outstanding"] or Decimal("0"),
        }


class Bill(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="bills")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="bills")
    number = models.CharField(max_length=40)
    date = models.DateField()
    due_date = models.DateField()
    total = models.DecimalField(max_digits=14, decimal_places=2)
    balance = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "vendor", "number"], name="unique_bill_number"),
            models.CheckConstraint(condition=Q(total__gte=0), name="bill_total_not_negative"),
            models.CheckConstraint(
                condition=Q(balance__gte=0) & Q(balance__lte=models.F("total")), name="bill_balance_in_range"
            ),
        ]
        indexes = [models.Index(fields=["organization", "-date"], name="bill_org_date")]

    def __str__(self):
        return self.number

    def clean(self):
        if self.due_date and self.date and self.due_date < self.date:
            raise ValidationError({"due_date": "The due date cannot be before the bill date."})
