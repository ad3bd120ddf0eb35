"""What can be mapped: the ERP side's fields per target, the CRM modules behind each module
configuration, the default pairs, and which CRM field types may feed which ERP field kinds.

Both the configuration pages and the sync engine read this; it is the single description of the
ERP's syncable fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from organizations.models import CustomField, CustomFieldType

from .models import Direction, ErpModel, SyncModule

# ERP field kinds. A CRM field may feed an ERP field when its data_type is in COMPATIBLE[kind].
TEXT_TYPES = {"text", "textarea", "email", "phone", "website", "autonumber", "picklist", "mediumtext"}
NUMBER_TYPES = {"integer", "bigint", "long"}
DECIMAL_TYPES = {"double", "currency", "percent"} | NUMBER_TYPES
COMPATIBLE = {
    "text": TEXT_TYPES | DECIMAL_TYPES | {"date", "datetime", "boolean"},
    "textarea": TEXT_TYPES,
    "email": {"email", "text"},
    "phone": {"phone", "text"},
    "url": {"website", "text"},
    "currency_code": {"text", "picklist"},
    "integer": NUMBER_TYPES,
    "decimal": DECIMAL_TYPES,
    "date": {"date", "datetime"},
    "boolean": {"boolean"},
    "choice": {"picklist"},
}
# ERP kind -> the CRM data_type of a custom field created for it ("Create custom field" goes the other
# way: CRM type -> ERP custom field type).
CUSTOM_FIELD_FOR_CRM_TYPE = {
    "text": CustomFieldType.TEXT, "textarea": CustomFieldType.TEXT, "email": CustomFieldType.TEXT,
    "phone": CustomFieldType.TEXT, "website": CustomFieldType.TEXT, "autonumber": CustomFieldType.TEXT,
    "integer": CustomFieldType.NUMBER, "bigint": CustomFieldType.NUMBER, "long": CustomFieldType.NUMBER,
    "double": CustomFieldType.DECIMAL, "currency": CustomFieldType.DECIMAL, "percent": CustomFieldType.DECIMAL,
    "date": CustomFieldType.DATE, "datetime": CustomFieldType.DATE, "boolean": CustomFieldType.BOOLEAN,
    "picklist": CustomFieldType.CHOICE,
}
KIND_FOR_CUSTOM_FIELD = {
    CustomFieldType.TEXT: "text", CustomFieldType.NUMBER: "integer", CustomFieldType.DECIMAL: "decimal",
    CustomFieldType.DATE: "date", CustomFieldType.BOOLEAN: "boolean", CustomFieldType.CHOICE: "choice",
}
# Item types as the CRM names them on a "Goods / Services" picklist.
ITEM_TYPE_FROM_CRM = {"goods": "goods", "good": "goods", "service": "service", "services": "service"}


@dataclass(frozen=True)
class ErpField:
    name: str  # model field, or "cf:<api_name>"
    label: str
    kind: str
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()  # for kind "choice": the allowed values (compared case-insensitively)

    @property
    def is_custom(self) -> bool:
        return self.name.startswith("cf:")


def _text(name, label, max_length, required=False, kind="text"):
    return ErpField(name, label, kind, required=required, max_length=max_length)


ADDRESS = lambda prefix, label: [  # noqa: E731
    _text(f"{prefix}_street", f"{label} street", 255),
    _text(f"{prefix}_city", f"{label} city", 100),
    _text(f"{prefix}_state", f"{label} state", 100),
    _text(f"{prefix}_zip", f"{label} ZIP code", 30),
    _text(f"{prefix}_country", f"{label} country", 100),
]

STANDARD_FIELDS: dict[str, list[ErpField]] = {
    ErpModel.CUSTOMER: [
        _text("display_name", "Display name", 255),
        _text("company_name", "Company name", 255),
        _text("first_name", "First name", 100),
        _text("last_name", "Last name", 100),
        _text("email", "Email", 254, kind="email"),
        _text("phone", "Phone", 50, kind="phone"),
        _text("website", "Website", 255, kind="url"),
        *ADDRESS("billing", "Billing"),
        *ADDRESS("shipping", "Shipping"),
        ErpField("currency", "Currency", "currency_code", max_length=3),
        ErpField("notes", "Notes", "textarea"),
    ],
    ErpModel.CONTACT_PERSON: [
        _text("salutation", "Salutation", 20),
        _text("first_name", "First name", 100),
        _text("last_name", "Last name", 100, required=True),
        _text("email", "Email", 254, kind="email"),
        _text("phone", "Phone", 50, kind="phone"),
        _text("mobile", "Mobile", 50, kind="phone"),
        _text("designation", "Designation", 100),
    ],
    ErpModel.VENDOR: [
        _text("display_name", "Display name", 255, required=True),
        _text("company_name", "Company name", 255),
        _text("email", "Email", 254, kind="email"),
        _text("phone", "Phone", 50, kind="phone"),
        _text("website", "Website", 255, kind="url"),
        _text("street", "Street", 255),
        _text("city", "City", 100),
        _text("state", "State", 100),
        _text("zip_code", "ZIP code", 30),
        _text("country", "Country", 100),
        ErpField("currency", "Currency", "currency_code", max_length=3),
        ErpField("notes", "Notes", "textarea"),
    ],
    ErpModel.ITEM: [
        _text("name", "Name", 255, required=True),
        _text("sku", "SKU", 100),
        ErpField("item_type", "Product type (goods / service)", "choice", choices=("goods", "service", "services")),
        ErpField("rate", "Selling price", "decimal"),
        ErpField("purchase_rate", "Cost price", "decimal"),
        _text("unit", "Unit", 30),
        ErpField("description", "Description", "textarea"),
    ],
}

# (target, CRM module) -> default pairs ERP field -> CRM field, applied when the CRM has the field.
DEFAULT_MAPS: dict[tuple[str, str], dict[str, str]] = {
    (ErpModel.CUSTOMER, "Accounts"): {
        "display_name": "Account_Name", "phone": "Phone", "website": "Website",
        "billing_street": "Billing_Street", "billing_city": "Billing_City", "billing_state": "Billing_State",
        "billing_zip": "Billing_Code", "billing_country": "Billing_Country",
        "shipping_street": "Shipping_Street", "shipping_city": "Shipping_City", "shipping_state": "Shipping_State",
        "shipping_zip": "Shipping_Code", "shipping_country": "Shipping_Country", "notes": "Description",
        "currency": "Currency",
    },
    (ErpModel.CUSTOMER, "Contacts"): {
        "first_name": "First_Name", "last_name": "Last_Name", "email": "Email", "phone": "Phone",
        "billing_street": "Mailing_Street", "billing_city": "Mailing_City", "billing_state": "Mailing_State",
        "billing_zip": "Mailing_Zip", "billing_country": "Mailing_Country", "notes": "Description",
    },
    (ErpModel.CONTACT_PERSON, "Contacts"): {
        "salutation": "Salutation", "first_name": "First_Name", "last_name": "Last_Name", "email": "Email",
        "phone": "Phone", "mobile": "Mobile", "designation": "Title",
    },
    (ErpModel.VENDOR, "Vendors"): {
        "display_name": "Vendor_Name", "email": "Email", "phone": "Phone", "website": "Website",
        "street": "Street", "city": "City", "state": "State", "zip_code": "Zip_Code", "country": "Country",
        "notes": "Description", "currency": "Currency",
    },
    (ErpModel.ITEM, "Products"): {
        "name": "Product_Name", "sku": "Product_Code", "rate": "Unit_Price", "description": "Description",
        "unit": "Usage_Unit", "item_type": "Product_Type",
    },
}

# The ERP field a target is identified by when looking for duplicates, per duplicate key.
DUPLICATE_FIELDS = {(ErpModel.CUSTOMER, "name"): "display_name", (ErpModel.VENDOR, "name"): "display_name",
                    (ErpModel.ITEM, "name"): "name", (ErpModel.ITEM, "sku"): "sku"}


@dataclass
class Section:
    """One mapping table on the configuration page: a target fed by one CRM module."""

    target: str
    crm_module: str
    title: str
    required: tuple[str, ...] = field(default_factory=tuple)


def sections_for(module: str, crm_source: str = "") -> list[Section]:
    if module == SyncModule.CUSTOMERS:
        if crm_source == "contacts":
            return [Section(ErpModel.CUSTOMER, "Contacts", "Contacts → individual customers", ("last_name",))]
        sections = [Section(ErpModel.CUSTOMER, "Accounts", "Accounts → business customers", ("display_name",))]
        if crm_source == "accounts_and_contacts":
            sections.append(Section(ErpModel.CONTACT_PERSON, "Contacts", "Contacts → contact persons", ("last_name",)))
        return sections
    if module == SyncModule.VENDORS:
        return [Section(ErpModel.VENDOR, "Vendors", "Vendors → vendors", ("display_name",))]
    return [Section(ErpModel.ITEM, "Products", "Products → items", ("name",))]


# Every CRM module a module configuration may read, whatever its source.
CRM_MODULES = {SyncModule.CUSTOMERS: ("Accounts", "Contacts"), SyncModule.VENDORS: ("Vendors",),
               SyncModule.ITEMS: ("Products",)}


def crm_modules_for(module: str, crm_source: str = "") -> list[str]:
    return list(dict.fromkeys(s.crm_module for s in sections_for(module, crm_source)))


CUSTOM_FIELD_MODULE = {ErpModel.CUSTOMER: "customers", ErpModel.VENDOR: "vendors", ErpModel.ITEM: "items"}  # CustomField.module

# Fields the CRM sets on every record. Zoho's field metadata does not mark them read-only (it says
# read_only false), yet it refuses writes to them.
CRM_SET_FIELDS = {"Created_Time", "Modified_Time"}


def crm_field_read_only(crm_field: dict) -> bool:
    """Whether the CRM refuses writes to this field (formula, auto-number, full name, the record's times)."""
    # Zoho marks some such fields (Full_Name) only in operation_type: not writable through the API.
    return bool(crm_field.get("read_only") or crm_field.get("field_read_only")
                or (crm_field.get("operation_type") or {}).get("api_update") is False
                or crm_field.get("api_name") in CRM_SET_FIELDS)


def can_become_custom_field(target: str, crm_field: dict) -> bool:
    """Whether "Create custom field" can make an ERP custom field of the target for this CRM field."""
    return target in CUSTOM_FIELD_MODULE and (crm_field.get("data_type") or "") in CUSTOM_FIELD_FOR_CRM_TYPE


def erp_fields(target: str, organization) -> list[ErpField]:
    """The target's standard fields and the organization's custom fields of its module."""
    fields = list(STANDARD_FIELDS[target])
    module = CUSTOM_FIELD_MODULE.get(target)
    if module:
        for definition in CustomField.objects.filter(organization=organization, module=module):
            fields.append(
                ErpField(
                    f"cf:{definition.api_name}",
                    definition.label,
                    KIND_FOR_CUSTOM_FIELD[definition.data_type],
                    choices=tuple(definition.options or ()),
                )
            )
    return fields


def picklist_values(crm_field: dict) -> list[str]:
    """A CRM picklist's values as the CRM stores them, without its "-None-" placeholder."""
    values = [v.get("actual_value") or v.get("display_value") for v in crm_field.get("pick_list_values") or []]
    return [str(v) for v in values if v not in (None, "", "-None-")]


def incompatibility(erp_field: ErpField, crm_field: dict) -> str | None:
    """Why this CRM field cannot feed this ERP field, or None when it can."""
    data_type = crm_field.get("data_type") or ""
    label = crm_field.get("field_label") or crm_field.get("api_name")
    if data_type not in COMPATIBLE[erp_field.kind]:
        return f"The CRM field {label} ({data_type}) cannot feed {erp_field.label} ({erp_field.kind})."
    if erp_field.kind == "choice":
        allowed = {c.lower() for c in erp_field.choices}
        missing = [v for v in picklist_values(crm_field) if v.lower() not in allowed]
        if missing:
            return (f"The CRM picklist {label} has values that {erp_field.label} does not offer: "
                    f"{', '.join(missing[:5])}.")
    return None


def standard_layout_only_hint(crm_field: dict) -> str | None:
    """CRM custom fields that live only on non-standard layouts are not offered: say why."""
    if not crm_field.get("custom_field"):
        return None
    layouts = crm_field.get("layout_associations") or []
    if layouts and not any((layout.get("api_name") or layout.get("name")) == "Standard" for layout in layouts):
        names = ", ".join(str(layout.get("name")) for layout in layouts)
        return (f"{crm_field.get('field_label')} is only on the {names} layout; only fields of the Standard "
                "layout can be synced, because records of other layouts would leave it empty.")
    return None


MAPPABLE_TYPES = set().union(*COMPATIBLE.values())


# The CRM fields the sync itself creates and writes: our ERP id on pushed records, and the accounting
# metrics. They are never offered for mapping, nor as custom fields to create here.
ERP_ID_FIELD = "ERP_Id"
METRIC_FIELDS = ("ERP_Total_Sales", "ERP_Outstanding_Receivables", "ERP_Last_Invoice_Date")
SYNC_OWN_FIELDS = frozenset({ERP_ID_FIELD, *METRIC_FIELDS})


def offered_crm_fields(crm_fields: list[dict]) -> tuple[list[dict], list[str]]:
    """The CRM fields offered for mapping, and hints for the ones held back."""
    offered, hints = [], []
    for crm_field in crm_fields:
        if crm_field.get("data_type") not in MAPPABLE_TYPES or crm_field.get("api_name") in SYNC_OWN_FIELDS:
            continue
        hint = standard_layout_only_hint(crm_field)
        if hint:
            hints.append(hint)
            continue
        offered.append(crm_field)
    return offered, hints


def mapping_direction(*, both_ways: bool, crm_field: dict) -> str:
    """A mapping's direction: a read-only CRM field (formula, auto-number, full name) can only be fetched."""
    return Direction.BOTH if both_ways and not crm_field_read_only(crm_field) else Direction.FETCH
