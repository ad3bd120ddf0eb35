from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from organizations.models import Organization


class ItemType(models.TextChoices):
    GOODS = "goods", "Goods"
    SERVICE = "service", "Service"


class Item(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=255)
    sku = models.CharField("SKU", max_length=100, blank=True)
    item_type = models.CharField(max_length=10, choices=ItemType.choices, default=ItemType.GOODS)
    rate = models.DecimalField("Selling price", max_digits=14, decimal_places=2, default=0)
    purchase_rate = models.DecimalField("Cost price", max_digits=14, decimal_places=2, default=0)
    unit = models.CharField(max_length=30, blank=True)
    description = models.TextField(blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    # The person responsible for the record; with a CRM connected, it follows the CRM record's Owner
    # (matched by email). Not indexed: nothing lists records by owner, and every insert would pay for it.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sku"], condition=~Q(sku=""), name="unique_item_sku_per_org"
            ),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(purchase_rate__gte=0), name="item_rates_not_negative"),
        ]
        indexes = [
            models.Index(fields=["organization", "name", "id"], name="item_org_name"),
            models.Index(fields=["organization", "-created_at"], name="item_org_created"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        self.clean_without_queries()
        if (
            self.sku
            and Item.objects.filter(organization_id=self.organization_id, sku=self.sku).exclude(pk=self.pk).exists()
        ):
            raise ValidationError({"sku": "Another item already has this SKU."})

    def clean_without_queries(self):
        """The rules that need no database query, for callers that check SKUs of many items at once."""
        self.name = (self.name or "").strip()
        self.sku = (self.sku or "").strip()
        if not self.name:
            raise ValidationError({"name": "An item needs a name."})
