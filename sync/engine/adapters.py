"""Module adapters: what differs between Accounts→business customers, Contacts→individual customers,
Accounts' Contacts→contact persons, Vendors→vendors and Products→items. The engine is the same for
all of them; an adapter names the ERP model, the CRM module, the duplicate and unique keys, which side
goes first, and how an ERP record is created, validated and scoped to its organization.

A configuration reads one or two CRM modules (`reads_for`): each read is a walk through one CRM module's
records that feeds one adapter, or two (a contact with a synced account becomes a contact person, one
without becomes an individual customer when orphans are included).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet

from customers.models import ContactPerson, Customer, CustomerType, Invoice
from integration.catalogue import DUPLICATE_FIELDS
from integration.models import CrmSource, ErpModel, ModuleConfig, SyncModule
from items.models import Item
from vendors.models import Bill, Vendor

from ..models import RecordLink
from .bulk import new_object

MODELS = {ErpModel.CUSTOMER: Customer, ErpModel.CONTACT_PERSON: ContactPerson, ErpModel.VENDOR: Vendor,
          ErpModel.ITEM: Item}


@dataclass(frozen=True)
class Adapter:
    name: str
    crm_module: str
    erp_model: ErpModel  # RecordLink.erp_model, and the FieldMapping target
    crm_wins: bool  # the side the module syncs first wins conflicts
    customer_type: str | None = None
    has_parent: bool = False  # contact persons belong to the customer of their CRM account

    @property
    def target(self) -> str:
        """The FieldMapping target of this adapter's fields."""
        return self.erp_model

    @property
    def model(self):
        return MODELS[self.erp_model]

    def queryset(self, organization) -> QuerySet:
        if self.erp_model == ErpModel.CONTACT_PERSON:
            return ContactPerson.objects.filter(customer__organization=organization,
                                                customer__customer_type=CustomerType.BUSINESS)
        queryset = self.model.objects.filter(organization=organization)
        if self.customer_type:
            queryset = queryset.filter(customer_type=self.customer_type)
        return queryset

    def new(self, organization):
        if self.erp_model == ErpModel.CONTACT_PERSON:
            return new_object(ContactPerson)
        if self.customer_type:
            return new_object(self.model, organization_id=organization.pk, customer_type=self.customer_type)
        return new_object(self.model, organization_id=organization.pk)

    def derive(self, obj) -> None:
        """Fields that follow from mapped ones: an individual customer from the CRM is called by name."""
        if self.erp_model == ErpModel.CUSTOMER and self.customer_type == CustomerType.INDIVIDUAL:
            name = " ".join(p for p in ((obj.first_name or "").strip(), (obj.last_name or "").strip()) if p)
            if name:
                obj.display_name = name[:255]

    def validate(self, obj) -> None:
        """The model's own rules without database queries (those the engine checks in bulk): raises
        ValidationError."""
        if self.erp_model in (ErpModel.CUSTOMER, ErpModel.VENDOR):
            obj.clean()
        elif self.erp_model == ErpModel.ITEM:
            obj.clean_without_queries()
            if obj.rate < 0 or obj.purchase_rate < 0:
                raise ValidationError({"rate": "Prices cannot be negative."})
        elif self.erp_model == ErpModel.CONTACT_PERSON:
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
        if self.erp_model == ErpModel.CONTACT_PERSON:
            return obj.full_name
        return str(obj)

    def duplicate_field(self, config: ModuleConfig) -> str | None:
        if self.has_parent:
            return None  # contact persons belong to a customer; a name says nothing about who they are
        return DUPLICATE_FIELDS.get((self.target, config.duplicate_key if self.erp_model == ErpModel.ITEM else "name"))

    def duplicate_source(self, specs) -> tuple[str, ...]:
        """The incoming values compared with `duplicate_field` when it is not mapped itself: an individual
        customer's display name is their first and last name."""
        if self.customer_type == CustomerType.INDIVIDUAL and not any(s.erp_field == "display_name" for s in specs):
            return ("first_name", "last_name")
        return ()

    def duplicate_label(self, config: ModuleConfig, specs) -> str:
        """What the duplicate rule compares, as people say it."""
        if self.duplicate_source(specs):
            return "first and last name"
        field = self.duplicate_field(config)
        return {"display_name": "display name", "name": "name", "sku": "SKU"}.get(field or "", field or "")

    @property
    def noun(self) -> str:
        """What one of its ERP records is called: "customer", "contact person", "vendor", "item"."""
        return self.erp_model.label.lower()

    @property
    def unique_field(self) -> str | None:
        return "sku" if self.erp_model == ErpModel.ITEM else None

    def with_transactions(self, ids) -> set[int]:
        """Which of these ERP records have transactions (and so are never deleted because of the CRM)."""
        if self.erp_model == ErpModel.CUSTOMER:
            return set(Invoice.objects.filter(customer_id__in=ids).values_list("customer_id", flat=True))
        if self.erp_model == ErpModel.VENDOR:
            return set(Bill.objects.filter(vendor_id__in=ids).values_list("vendor_id", flat=True))
        return set()


ACCOUNTS = Adapter("accounts", "Accounts", ErpModel.CUSTOMER, crm_wins=True, customer_type=CustomerType.BUSINESS)
CONTACTS = Adapter("contacts", "Contacts", ErpModel.CUSTOMER, crm_wins=True, customer_type=CustomerType.INDIVIDUAL)
CONTACT_PERSONS = Adapter("contact_persons", "Contacts", ErpModel.CONTACT_PERSON, crm_wins=True, has_parent=True)
VENDORS = Adapter("vendors", "Vendors", ErpModel.VENDOR, crm_wins=True)
PRODUCTS = Adapter("products", "Products", ErpModel.ITEM, crm_wins=False)


@dataclass(frozen=True)
class CrmModuleRead:
    """One walk through a CRM module's records (in a view, when one is chosen), feeding its adapters."""

    crm_module: str
    view_id: str
    adapters: tuple[Adapter, ...]

    @property
    def routes_by_account(self) -> bool:
        """Contacts: each goes to the adapter its account decides (contact person, or individual customer)."""
        return any(adapter.has_parent for adapter in self.adapters)


def reads_for(config: ModuleConfig) -> list[CrmModuleRead]:
    """The CRM modules a configuration reads, in order: Accounts before their Contacts."""
    if config.module == SyncModule.CUSTOMERS:
        if config.crm_source == CrmSource.CONTACTS:
            return [CrmModuleRead("Contacts", config.crm_view_id, (CONTACTS,))]
        reads = [CrmModuleRead("Accounts", config.crm_view_id, (ACCOUNTS,))]
        if config.crm_source == CrmSource.ACCOUNTS_AND_CONTACTS:
            contacts = (CONTACT_PERSONS, CONTACTS) if config.include_orphan_contacts else (CONTACT_PERSONS,)
            reads.append(CrmModuleRead("Contacts", config.contact_view_id, contacts))
        return reads
    if config.module == SyncModule.VENDORS:
        return [CrmModuleRead("Vendors", config.crm_view_id, (VENDORS,))]
    return [CrmModuleRead("Products", config.crm_view_id, (PRODUCTS,))]


def adapters_for(config: ModuleConfig) -> list[Adapter]:
    return [adapter for read in reads_for(config) for adapter in read.adapters]


def push_adapters_for(config: ModuleConfig) -> list[Adapter]:
    """What a module pushes both ways: what it fetches and, for customers, both types whatever the source:
    business customers go to Accounts and individual customers to Contacts (the help page's rule)."""
    adapters = adapters_for(config)
    if config.module == SyncModule.CUSTOMERS:
        adapters += [adapter for adapter in (ACCOUNTS, CONTACTS) if adapter not in adapters]
    return adapters


def push_only_reads(config: ModuleConfig) -> list[CrmModuleRead]:
    """The CRM modules a module writes to both ways but does not fetch (individual customers' Contacts
    when the source is Accounts, say): their deletions are still followed, so that a record deleted there
    is unlinked here rather than pushed to a record that is gone."""
    if not config.syncs_both_ways:
        return []
    fetched = {read.crm_module for read in reads_for(config)}
    return [CrmModuleRead(adapter.crm_module, "", (adapter,)) for adapter in push_adapters_for(config)
            if adapter.crm_module not in fetched]


def linked_subquery(*, connection, adapter: Adapter):
    """RecordLink rows of this adapter's ERP model pointing at the outer row (for Exists filters)."""
    return Exists(RecordLink.objects.filter(connection=connection, erp_model=adapter.erp_model, erp_id=OuterRef("pk")))
