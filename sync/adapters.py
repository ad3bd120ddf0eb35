"""Module adapters: what differs between Accounts→business customers, Contacts→individual customers,
Accounts' Contacts→contact persons, Vendors→vendors and Products→items. The engine is the same for
all of them; an adapter names the ERP model, the CRM module, the duplicate and unique keys, which side
goes first, and how an ERP record is created, validated and scoped to its organization.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet

from customers.models import ContactPerson, Customer, CustomerType, Invoice
from integration.catalogue import DUPLICATE_FIELDS
from integration.models import CrmSource, Direction, ModuleConfig
from items.models import Item
from vendors.models import Bill, Vendor


@dataclass(frozen=True)
class Adapter:
    name: str
    target: str  # FieldMapping.target
    crm_module: str
    erp_model: str  # RecordLink.erp_model
    crm_wins: bool  # the side the module syncs first wins conflicts
    customer_type: str | None = None
    has_parent: bool = False  # contact persons belong to the customer of their CRM account

    @property
    def model(self):
        return {"customer": Customer, "contact_person": ContactPerson, "vendor": Vendor, "item": Item}[self.erp_model]

    def queryset(self, organization) -> QuerySet:
        if self.erp_model == "contact_person":
            return ContactPerson.objects.filter(customer__organization=organization,
                                                customer__customer_type=CustomerType.BUSINESS)
        queryset = self.model.objects.filter(organization=organization)
        if self.customer_type:
            queryset = queryset.filter(customer_type=self.customer_type)
        return queryset

    def new(self, organization):
        if self.erp_model == "contact_person":
            return ContactPerson()
        if self.customer_type:
            return self.model(organization_id=organization.pk, customer_type=self.customer_type)
        return self.model(organization_id=organization.pk)

    def derive(self, obj) -> None:
        """Fields that follow from mapped ones: an individual customer from the CRM is called by name."""
        if self.erp_model == "customer" and self.customer_type == CustomerType.INDIVIDUAL:
            name = " ".join(p for p in ((obj.first_name or "").strip(), (obj.last_name or "").strip()) if p)
            if name:
                obj.display_name = name[:255]

    def validate(self, obj) -> None:
        """The model's own rules without database queries (those the engine checks in bulk): raises
        ValidationError."""
        if self.erp_model in ("customer", "vendor"):
            obj.clean()
        elif self.erp_model == "item":
            obj.clean_without_queries()
            if obj.rate < 0 or obj.purchase_rate < 0:
                raise ValidationError({"rate": "Prices cannot be negative."})
        elif self.erp_model == "contact_person":
            if not (obj.last_name or "").strip():
                raise ValidationError({"last_name": "A contact person needs a last name."})

    def complete_for_crm(self, obj, record: dict) -> None:
        """What the CRM requires of a new record that the ERP does not: an individual customer known by
        a display name alone becomes a CRM contact with that name as its (mandatory) last name, which
        the next fetch brings back as the customer's last name."""
        if self.crm_module == "Contacts" and self.customer_type == CustomerType.INDIVIDUAL \
                and not str(record.get("Last_Name") or "").strip():
            record["Last_Name"] = (obj.display_name or "").strip()[:80] or None

    def label(self, obj) -> str:
        if self.erp_model == "contact_person":
            return obj.full_name
        return str(obj)

    def duplicate_field(self, config: ModuleConfig) -> str | None:
        if self.has_parent:
            return None  # contact persons belong to a customer; a name says nothing about who they are
        return DUPLICATE_FIELDS.get((self.target, config.duplicate_key if self.erp_model == "item" else "name"))

    @property
    def unique_field(self) -> str | None:
        return "sku" if self.erp_model == "item" else None

    def with_transactions(self, ids) -> set[int]:
        """Which of these ERP records have transactions (and so are never deleted because of the CRM)."""
        if self.erp_model == "customer":
            return set(Invoice.objects.filter(customer_id__in=ids).values_list("customer_id", flat=True))
        if self.erp_model == "vendor":
            return set(Bill.objects.filter(vendor_id__in=ids).values_list("vendor_id", flat=True))
        return set()

    def erp_id_value(self, obj, *, organization_id: int) -> str:
        """The ERP record's identity in the CRM's unique ERP id field: what makes a replayed push an update."""
        return f"{organization_id}-{self.erp_model}-{obj.pk}"


ACCOUNTS = Adapter("accounts", "customer", "Accounts", "customer", crm_wins=True,
                   customer_type=CustomerType.BUSINESS)
CONTACTS = Adapter("contacts", "customer", "Contacts", "customer", crm_wins=True,
                   customer_type=CustomerType.INDIVIDUAL)
CONTACT_PERSONS = Adapter("contact_persons", "contact_person", "Contacts", "contact_person", crm_wins=True,
                          has_parent=True)
VENDORS = Adapter("vendors", "vendor", "Vendors", "vendor", crm_wins=True)
PRODUCTS = Adapter("products", "item", "Products", "item", crm_wins=False)


@dataclass(frozen=True)
class Pass:
    """One walk through a CRM module's records, feeding one adapter (or two: a contact with a synced
    account becomes a contact person, one without becomes an individual customer when orphans are in)."""

    crm_module: str
    view_id: str
    adapters: tuple[Adapter, ...]

    @property
    def routes_by_account(self) -> bool:
        return any(adapter.has_parent for adapter in self.adapters)


def passes_for(config: ModuleConfig) -> list[Pass]:
    """The CRM modules a configuration reads, in order: Accounts before their Contacts."""
    if config.module == "customers":
        if config.crm_source == CrmSource.CONTACTS:
            return [Pass("Contacts", config.crm_view_id, (CONTACTS,))]
        passes = [Pass("Accounts", config.crm_view_id, (ACCOUNTS,))]
        if config.crm_source == CrmSource.ACCOUNTS_AND_CONTACTS:
            contacts = (CONTACT_PERSONS, CONTACTS) if config.include_orphan_contacts else (CONTACT_PERSONS,)
            passes.append(Pass("Contacts", config.contact_view_id, contacts))
        return passes
    if config.module == "vendors":
        return [Pass("Vendors", config.crm_view_id, (VENDORS,))]
    return [Pass("Products", config.crm_view_id, (PRODUCTS,))]


def adapters_for(config: ModuleConfig) -> list[Adapter]:
    return [adapter for sync_pass in passes_for(config) for adapter in sync_pass.adapters]


def pushes(config: ModuleConfig) -> bool:
    """Whether ERP changes go to the CRM: two-way chosen, and allowed for this connection."""
    return config.direction == Direction.BOTH and config.connection.two_way_allowed


def erp_goes_first(config: ModuleConfig) -> bool:
    """Items sync ERP first when two-way: their conflicts are won by the ERP and pushed before the fetch."""
    return pushes(config) and config.module == "items"


def linked_subquery(*, connection, adapter: Adapter):
    """RecordLink rows of this adapter's ERP model pointing at the outer row (for Exists filters)."""
    from .models import RecordLink

    return Exists(RecordLink.objects.filter(connection=connection, erp_model=adapter.erp_model, erp_id=OuterRef("pk")))
