"""Configure a module to be synced: the form with every rule of the configuration page, and saving it.

The same form serves the page and the `crm_configure` command, so the rules hold however a
configuration is made.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.db import transaction
from django.utils import timezone

from organizations.models import CustomField
from organizations.services import custom_field_create

from . import catalogue, services
from .crm.client import CrmClient
from .models import (
    CrmConnection,
    CrmSource,
    Direction,
    DuplicateAction,
    DuplicateKey,
    FieldMapping,
    ModuleConfig,
)
from .signals import sync_requested

CRM_MODULES = {"customers": ("Accounts", "Contacts"), "vendors": ("Vendors",), "items": ("Products",)}
MAP_PREFIX = "map__"


@dataclass
class CrmMetadata:
    """What the configuration page reads live from the CRM."""

    org: dict
    fields: dict[str, list[dict]]  # CRM module -> field metadata
    views: dict[str, list[dict]]  # CRM module -> custom views

    def field(self, crm_module: str, api_name: str) -> dict | None:
        return next((f for f in self.fields.get(crm_module, []) if f.get("api_name") == api_name), None)


def crm_source_chosen(*, module: str, saved: str, posted=None, asked: str = "") -> str:
    """The CRM module choice a page is about: the posted one when saving, else the one asked for (switching
    the choice reloads the page with it), else the saved one, else Accounts. Empty for other modules."""
    if module != "customers":
        return ""
    if posted is not None:
        return posted.get("crm_source") or CrmSource.ACCOUNTS
    return asked or saved or CrmSource.ACCOUNTS


def metadata_load(*, client: CrmClient, module: str, crm_source: str = "") -> CrmMetadata:
    """The CRM organization, and the fields and views of the CRM modules the chosen source reads."""
    crm_modules = catalogue.crm_modules_for(module, crm_source)
    return CrmMetadata(
        org=client.org(),
        fields={m: client.fields(m) for m in crm_modules},
        views={m: client.custom_views(m) for m in crm_modules},
    )


def currency_problem(*, connection: CrmConnection, crm_org: dict) -> str | None:
    base = connection.organization.base_currency
    crm_currency = services.currency_mismatch(organization=connection.organization, crm_org=crm_org)
    if crm_currency is not None:
        return (f"Multi-currency is on in the CRM and its base currency is {crm_currency}, but this "
                f"organization's base currency is {base}. Fields cannot be mapped until they are the same.")
    return None


def mapping_direction(*, both_ways: bool, crm_field: dict) -> str:
    """A mapping's direction: a read-only CRM field (formula, auto-number, full name) can only be fetched."""
    return Direction.BOTH if both_ways and not catalogue.crm_field_read_only(crm_field) else Direction.FETCH


def map_key(target: str, erp_field: str) -> str:
    return f"{MAP_PREFIX}{target}__{erp_field}"


class ModuleConfigForm(forms.Form):
    crm_source = forms.ChoiceField(
        label="Select Module in Zoho CRM", choices=CrmSource.choices, widget=forms.RadioSelect, required=False
    )
    include_orphan_contacts = forms.BooleanField(
        label="Include contacts that are not associated to any accounts", required=False,
        help_text="They become individual customers.",
    )
    direction = forms.ChoiceField(label="Select the extent of sync", choices=Direction.choices,
                                  widget=forms.RadioSelect)
    duplicate_key = forms.ChoiceField(label="Identify duplicates by", choices=DuplicateKey.choices,
                                      widget=forms.RadioSelect, required=False)
    duplicate_action = forms.ChoiceField(label="When a duplicate is found", choices=DuplicateAction.choices,
                                         widget=forms.RadioSelect)
    crm_view_id = forms.ChoiceField(label="Select the view to be synced", required=False)
    contact_view_id = forms.ChoiceField(label="Contacts view to be synced", required=False)

    def __init__(self, *args, module_config: ModuleConfig, metadata: CrmMetadata, **kwargs):
        super().__init__(*args, **kwargs)
        self.module_config = module_config
        self.module = module_config.module
        self.connection = module_config.connection
        self.metadata = metadata
        self.currency_problem = currency_problem(connection=self.connection, crm_org=metadata.org)
        self.crm_source = crm_source_chosen(
            module=self.module, saved=self.module_config.crm_source, posted=self.data if self.is_bound else None,
            asked=self.initial.get("crm_source") or "",
        )
        if self.module == "customers" and not self.is_bound:
            self.initial["crm_source"] = self.crm_source
        self.sections = catalogue.sections_for(self.module, self.crm_source)
        self.hints: list[str] = []
        self._shape_fields()
        self._add_mapping_fields()

    # --- building the form ------------------------------------------------------------------------------

    def _views_choices(self, crm_module: str):
        views = self.metadata.views.get(crm_module, [])
        # The default view is the whole module: offered as "no view", which also keeps the listing sorted
        # by time (a view forbids sort_by) and costs a third of the API credits.
        return [("", f"All {crm_module}")] + [
            (str(v["id"]), v.get("display_value") or v.get("name")) for v in views if not v.get("default")
        ]

    def _shape_fields(self):
        main_crm_module = self.sections[0].crm_module
        self.fields["crm_view_id"].choices = self._views_choices(main_crm_module)
        self.fields["crm_view_id"].label = f"Select the {main_crm_module} view to be synced"
        if self.module != "customers":
            for name in ("crm_source", "include_orphan_contacts", "contact_view_id"):
                del self.fields[name]
        else:
            self.fields["crm_source"].required = True
            self.fields["contact_view_id"].choices = self._views_choices("Contacts")
            if self.crm_source != CrmSource.ACCOUNTS_AND_CONTACTS:
                del self.fields["include_orphan_contacts"]
                del self.fields["contact_view_id"]
        if self.module != "items":
            del self.fields["duplicate_key"]
            self.fields["duplicate_action"].help_text = (
                "Duplicates are found by comparing the CRM "
                f"{'Vendor Name' if self.module == 'vendors' else 'Account Name'} with the display name here."
            )
        else:
            self.fields["duplicate_key"].required = True
            self.fields["duplicate_key"].help_text = (
                "By SKU, the CRM Product Code is compared with the SKU here; Clone is not offered then, and the "
                "SKU ⇄ Product Code mapping is required. Set Product Name not to allow duplicates in the CRM."
            )
        if self.module == "items":
            self.fields["direction"].help_text = "Sync both ways: items here go to the CRM first."
        else:
            self.fields["direction"].help_text = "Sync both ways: CRM records are fetched first."
        if not self.connection.two_way_allowed:
            self.fields["direction"].choices = [(Direction.FETCH, Direction.FETCH.label)]
            self.fields["direction"].help_text = (
                "This CRM organization syncs both ways with another organization, so only fetching is offered here."
            )

    def _add_mapping_fields(self):
        organization = self.connection.organization
        self.mapping_rows: dict[str, list[tuple[catalogue.ErpField, str, bool]]] = {}
        existing = {(m.target, m.erp_field): m.crm_field for m in self.module_config.field_mappings.all()}
        for section in self.sections:
            offered, hints = catalogue.offered_crm_fields(self.metadata.fields.get(section.crm_module, []))
            self.hints.extend(h for h in hints if h not in self.hints)
            choices = [("", "— not mapped —")] + [
                (f["api_name"], f"{f.get('field_label') or f['api_name']} ({f.get('data_type')})") for f in offered
            ]
            defaults = catalogue.DEFAULT_MAPS.get((section.target, section.crm_module), {})
            offered_names = {f["api_name"] for f in offered}
            rows = []
            for erp_field in catalogue.erp_fields(section.target, organization):
                key = map_key(section.target, erp_field.name)
                required = erp_field.required or erp_field.name in section.required
                self.fields[key] = forms.ChoiceField(choices=choices, required=False, label=erp_field.label)
                if self.module_config.configured or (section.target, erp_field.name) in existing:
                    initial = existing.get((section.target, erp_field.name), "")
                else:
                    initial = defaults.get(erp_field.name, "")
                    crm_field = self.metadata.field(section.crm_module, initial) if initial else None
                    if initial not in offered_names or (crm_field and catalogue.incompatibility(erp_field, crm_field)):
                        initial = ""
                self.fields[key].initial = initial
                rows.append((erp_field, key, required))
            self.mapping_rows[section.target] = rows

    @property
    def chosen_source(self) -> str:
        """The CRM module choice the page is showing (templates cannot reach `crm_source`: it is a field)."""
        return self.crm_source

    def mapping_sections(self):
        """For the template: per section its title and rows of (ERP field, bound field, required)."""
        return [
            (section, [(erp_field, self[key], required) for erp_field, key, required in self.mapping_rows[section.target]])
            for section in self.sections
        ]

    # --- the rules ------------------------------------------------------------------------------------------

    def clean(self):
        cleaned = super().clean()
        if self.currency_problem:
            raise forms.ValidationError(self.currency_problem)
        if cleaned.get("direction") == Direction.BOTH and not self.connection.two_way_allowed:
            self.add_error("direction", "Sync both ways is not available on this connection.")
        if self.module == "items":
            if cleaned.get("duplicate_key") == DuplicateKey.SKU and cleaned.get("duplicate_action") == DuplicateAction.CLONE:
                self.add_error("duplicate_action", "Clone is not offered when duplicates are identified by SKU.")
        if self.module == "customers" and self.data.get("include_orphan_contacts") and (
            self.crm_source != CrmSource.ACCOUNTS_AND_CONTACTS
        ):
            self.add_error("crm_source", "Contacts without an account can only be included with Accounts & their "
                                         "Contacts.")
        cleaned["mappings"] = self._clean_mappings(cleaned)
        return cleaned

    def _clean_mappings(self, cleaned) -> list[FieldMapping]:
        mappings = []
        both_ways = cleaned.get("direction") == Direction.BOTH
        for section in self.sections:
            for erp_field, key, required in self.mapping_rows[section.target]:
                crm_name = cleaned.get(key) or ""
                if not crm_name:
                    if required:
                        self.add_error(key, f"{erp_field.label} must be mapped to a CRM field.")
                    continue
                crm_field = self.metadata.field(section.crm_module, crm_name)  # a choice, so one of its fields
                problem = catalogue.incompatibility(erp_field, crm_field)
                if problem:
                    self.add_error(key, problem)
                    continue
                mappings.append(FieldMapping(
                    target=section.target, crm_module=section.crm_module, crm_field=crm_name,
                    crm_data_type=crm_field.get("data_type") or "", erp_field=erp_field.name,
                    direction=mapping_direction(both_ways=both_ways, crm_field=crm_field),
                ))
        if self.module == "items" and cleaned.get("duplicate_key") == DuplicateKey.SKU:
            if not any(m.erp_field == "sku" and m.crm_field == "Product_Code" for m in mappings):
                self.add_error(map_key("item", "sku"),
                               "Identifying duplicates by SKU needs SKU mapped to the CRM Product Code.")
        return mappings


@transaction.atomic
def module_config_save(*, module_config: ModuleConfig, cleaned: dict, user, sync_now: bool) -> ModuleConfig:
    """Save the configuration and its mapping; with sync_now, ask for the first (or next) sync."""
    first_time = not module_config.configured
    module_config.crm_source = cleaned.get("crm_source") or ""
    module_config.include_orphan_contacts = bool(cleaned.get("include_orphan_contacts"))
    module_config.direction = cleaned["direction"]
    module_config.duplicate_key = cleaned.get("duplicate_key") or DuplicateKey.NAME
    module_config.duplicate_action = cleaned["duplicate_action"]
    module_config.crm_view_id = cleaned.get("crm_view_id") or ""
    module_config.contact_view_id = cleaned.get("contact_view_id") or ""
    module_config.configured = True
    module_config.configured_at = timezone.now()
    module_config.configured_by = user
    module_config.full_clean()
    module_config.save()
    module_config.field_mappings.all().delete()
    for mapping in cleaned["mappings"]:
        mapping.module_config = module_config
    FieldMapping.objects.bulk_create(cleaned["mappings"])
    if sync_now:
        trigger = "initial" if first_time else "instant"
        transaction.on_commit(lambda: sync_requested.send(
            sender=ModuleConfig, module_config=module_config, trigger=trigger, user=user))
    return module_config


def module_config_for(*, connection: CrmConnection, module: str) -> ModuleConfig:
    config, _ = ModuleConfig.objects.get_or_create(connection=connection, module=module)
    return config


def custom_field_from_crm(*, module_config: ModuleConfig, target: str, crm_module: str, crm_field: dict) -> CustomField:
    """Create an ERP custom field of a compatible type for a CRM field, and map the two."""
    data_type = crm_field.get("data_type") or ""
    if not catalogue.can_become_custom_field(target, crm_field):
        raise ValueError(f"A {data_type} CRM field cannot become a custom field here.")
    field_type = catalogue.CUSTOM_FIELD_FOR_CRM_TYPE[data_type]
    module = catalogue.CUSTOM_FIELD_MODULE[target]
    options = catalogue.picklist_values(crm_field) if field_type == "choice" else []
    organization = module_config.connection.organization
    label = crm_field.get("field_label") or crm_field["api_name"]
    with transaction.atomic():
        definition = CustomField.objects.filter(organization=organization, module=module,
                                                api_name=crm_field["api_name"]).first()
        if definition is None:
            definition = custom_field_create(organization=organization, module=module, label=label,
                                             data_type=field_type, api_name=crm_field["api_name"], options=options)
        FieldMapping.objects.update_or_create(
            module_config=module_config, target=target, erp_field=f"cf:{definition.api_name}",
            defaults={"crm_module": crm_module, "crm_field": crm_field["api_name"], "crm_data_type": data_type,
                      "direction": mapping_direction(both_ways=module_config.direction == Direction.BOTH,
                                                     crm_field=crm_field)},
        )
    return definition


def module_config_json(module_config: ModuleConfig) -> dict:
    return {
        "module": module_config.module,
        "crm_source": module_config.crm_source,
        "include_orphan_contacts": module_config.include_orphan_contacts,
        "direction": module_config.direction,
        "duplicate_key": module_config.duplicate_key,
        "duplicate_action": module_config.duplicate_action,
        "views": [v for v in (module_config.crm_view_id, module_config.contact_view_id) if v],
        "configured": module_config.configured,
        "mapping": [
            {"target": m.target, "erp_field": m.erp_field, "crm_module": m.crm_module, "crm_field": m.crm_field,
             "direction": m.direction}
            for m in module_config.field_mappings.all()
        ],
    }
