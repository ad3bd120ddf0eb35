"""Forms of Settings → Zoho Apps: choosing the CRM organization, confirmations, and configuring a module.

`ModuleConfigForm` holds every rule of the configuration page; the same form serves the page and the
`crm_configure` command, so the rules hold however a configuration is made.
"""

from __future__ import annotations

from django import forms

from . import catalogue
from .models import (
    CrmSource,
    DeletionHold,
    Direction,
    DuplicateKey,
    ErpModel,
    FieldMapping,
    ModuleConfig,
    SyncModule,
)
from .selectors import CrmMetadata
from .services import currency_mismatch

MAP_PREFIX = "map__"


class SelectOrganizationForm(forms.Form):
    crm_org_id = forms.ChoiceField(widget=forms.RadioSelect, label="CRM organization")

    def __init__(self, *args, crm_orgs: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.crm_orgs = {str(o.get("id")): o for o in crm_orgs}
        self.fields["crm_org_id"].choices = [
            (org_id, f"{o.get('company_name') or org_id} ({org_id})") for org_id, o in self.crm_orgs.items()
        ]
        if len(self.crm_orgs) == 1:
            self.fields["crm_org_id"].initial = next(iter(self.crm_orgs))

    def selected(self) -> dict:
        return self.crm_orgs[self.cleaned_data["crm_org_id"]]


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(label="Yes, I understand", error_messages={"required": "Tick the box to confirm."})


def crm_source_chosen(*, module: str, saved: str, posted=None, asked: str = "") -> str:
    """The CRM module choice a page is about: the posted one when saving, else the one asked for (switching
    the choice reloads the page with it), else the saved one, else Accounts. Empty for other modules."""
    if module != SyncModule.CUSTOMERS:
        return ""
    if posted is not None:
        return posted.get("crm_source") or CrmSource.ACCOUNTS
    return asked or saved or CrmSource.ACCOUNTS


def currency_problem(*, connection, crm_org: dict) -> str | None:
    base = connection.organization.base_currency
    crm_currency = currency_mismatch(organization=connection.organization, crm_org=crm_org)
    if crm_currency is not None:
        return (f"Multi-currency is on in the CRM and its base currency is {crm_currency}, but this "
                f"organization's base currency is {base}. Fields cannot be mapped until they are the same.")
    return None


def map_key(target: str, erp_field: str) -> str:
    return f"{MAP_PREFIX}{target}__{erp_field}"


class ModuleConfigForm(forms.ModelForm):
    # Declared for their choices: the CRM module offers no empty one, the views are read live.
    crm_source = forms.ChoiceField(label="Select Module in Zoho CRM", choices=CrmSource.choices,
                                   widget=forms.RadioSelect, required=False)
    crm_view_id = forms.ChoiceField(label="Select the view to be synced", required=False)
    contact_view_id = forms.ChoiceField(label="Contacts view to be synced", required=False)
    interval_minutes = forms.TypedChoiceField(
        label="Poll Zoho CRM for changes", choices=ModuleConfig.INTERVALS, coerce=int, initial=120,
        help_text="With notifications on (SITE_URL set), changes arrive in seconds and the poll is the safety net. "
                  "Without them, a shorter interval brings changes sooner; each poll that finds nothing costs one "
                  "API call per CRM module.")

    # When deletions in the CRM wait for an admin; left out of a post, they keep their saved values.
    deletion_hold = forms.ChoiceField(label="Before deleting records deleted in Zoho CRM", choices=DeletionHold.choices,
                                      widget=forms.RadioSelect, required=False)
    hold_over = forms.IntegerField(label="Ask when more than this many records go at once", min_value=0,
                                   required=False)
    hold_over_percent = forms.IntegerField(label="… and more than this share of the linked records (%)",
                                           min_value=0, max_value=100, required=False)

    class Meta:
        model = ModuleConfig
        fields = ModuleConfig.EDITABLE_FIELDS
        labels = {
            "include_orphan_contacts": "Include contacts that are not associated to any accounts",
            "direction": "Select the extent of sync",
            "duplicate_key": "Identify duplicates by",
            "duplicate_action": "When a duplicate is found",
        }
        help_texts = {"include_orphan_contacts": "They become individual customers."}
        widgets = {name: forms.RadioSelect for name in ("direction", "duplicate_key", "duplicate_action")}

    def __init__(self, *args, metadata: CrmMetadata, **kwargs):
        super().__init__(*args, **kwargs)
        self.module_config = self.instance
        self.module = self.instance.module
        self.connection = self.instance.connection
        self.metadata = metadata
        self.currency_problem = currency_problem(connection=self.connection, crm_org=metadata.org)
        self.crm_source = crm_source_chosen(
            module=self.module, saved=self.instance.crm_source, posted=self.data if self.is_bound else None,
            asked=self.initial.get("crm_source") or "",
        )
        if self.module == SyncModule.CUSTOMERS and not self.is_bound:
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
        if self.instance.interval_minutes not in dict(ModuleConfig.INTERVALS):  # set otherwise (a command)
            self.fields["interval_minutes"].choices = [
                *ModuleConfig.INTERVALS, (self.instance.interval_minutes, f"Every {self.instance.interval_minutes} minutes")]
        main_crm_module = self.sections[0].crm_module
        self.fields["crm_view_id"].choices = self._views_choices(main_crm_module)
        self.fields["crm_view_id"].label = f"Select the {main_crm_module} view to be synced"
        if self.module != SyncModule.CUSTOMERS:
            for name in ("crm_source", "include_orphan_contacts", "contact_view_id"):
                del self.fields[name]
        else:
            self.fields["crm_source"].required = True
            self.fields["contact_view_id"].choices = self._views_choices("Contacts")
            if self.crm_source != CrmSource.ACCOUNTS_AND_CONTACTS:
                del self.fields["include_orphan_contacts"]
                del self.fields["contact_view_id"]
        self._shape_duplicates()
        if self.module == SyncModule.ITEMS:
            self.fields["direction"].help_text = "Sync both ways: items here go to the CRM first."
        elif self.module == SyncModule.CUSTOMERS:
            self.fields["direction"].help_text = (
                "Sync both ways: CRM records are fetched first. Customers made here follow their type, whichever "
                "module they are fetched from: business customers go to Accounts, individual customers to Contacts.")
        else:
            self.fields["direction"].help_text = "Sync both ways: CRM records are fetched first."
        if not self.connection.two_way_allowed:
            self.fields["direction"].choices = [(Direction.FETCH, Direction.FETCH.label)]
            self.fields["direction"].help_text = (
                "This CRM organization syncs both ways with another organization, so only fetching is offered here."
            )

    def _shape_duplicates(self):
        if self.module != SyncModule.ITEMS:
            del self.fields["duplicate_key"]
            self.fields["duplicate_action"].help_text = self._compared()
        else:
            self.fields["duplicate_key"].help_text = (
                "By SKU, the CRM Product Code is compared with the SKU here; Clone is not offered then, and the "
                "SKU ⇄ Product Code mapping is required. Set Product Name not to allow duplicates in the CRM."
            )

    def _compared(self) -> str:
        """What the duplicate rule compares, for the chosen source."""
        if self.module == SyncModule.VENDORS:
            return "Duplicates are found by comparing the CRM Vendor Name with the vendor's display name here."
        if self.crm_source == CrmSource.CONTACTS:
            return ("Duplicates are found by comparing the contact's First Name and Last Name with the display name of "
                    "the individual customers here.")
        text = ("Duplicates are found by comparing the CRM Account Name with the display name of the business "
                "customers here.")
        if self.crm_source == CrmSource.ACCOUNTS_AND_CONTACTS:
            text += (" Contacts without an account (when included) are compared by First Name and Last Name with the "
                     "individual customers' display names; an account's contacts become its contact persons and are "
                     "not compared.")
        return text

    def _add_mapping_fields(self):
        organization = self.connection.organization
        self.mapping_rows: dict[str, list[tuple[catalogue.ErpField, str, bool]]] = {}
        existing = {(m.target, m.erp_field): m.crm_field for m in self.instance.field_mappings.all()} \
            if self.instance.pk else {}
        for section in self.sections:
            offered, hints = catalogue.offered_crm_fields(self.metadata.fields.get(section.crm_module, []))
            self.hints.extend(h for h in hints if h not in self.hints)
            choices = [("", "— not mapped —")] + [
                (f["api_name"], f"{f.get('field_label') or f['api_name']} ({f.get('data_type')})") for f in offered
            ]
            rows = []
            for erp_field in catalogue.erp_fields(section.target, organization):
                key = map_key(section.target, erp_field.name)
                required = erp_field.required or erp_field.name in section.required
                self.fields[key] = forms.ChoiceField(choices=choices, required=False, label=erp_field.label)
                self.fields[key].initial = self._initial_pair(section, erp_field, existing, offered)
                rows.append((erp_field, key, required))
            self.mapping_rows[section.target] = rows

    def _initial_pair(self, section, erp_field, existing: dict, offered: list[dict]) -> str:
        """The CRM field a mapping row starts with: the saved one, else the suggested one when offered."""
        if self.instance.configured or (section.target, erp_field.name) in existing:
            return existing.get((section.target, erp_field.name), "")
        initial = catalogue.DEFAULT_MAPS.get((section.target, section.crm_module), {}).get(erp_field.name, "")
        crm_field = self.metadata.field(section.crm_module, initial) if initial else None
        if initial not in {f["api_name"] for f in offered} or (crm_field and catalogue.incompatibility(erp_field, crm_field)):
            return ""
        return initial

    @property
    def sku_chosen(self) -> bool:
        """Items identified by SKU, as the page shows them: Clone is not offered then."""
        if self.module != SyncModule.ITEMS:
            return False
        key = self.data.get("duplicate_key") if self.is_bound else self.initial.get("duplicate_key",
                                                                                      self.instance.duplicate_key)
        return key == DuplicateKey.SKU

    @property
    def chosen_source(self) -> str:
        """The CRM module choice the page is showing (templates cannot reach `crm_source`: it is a field)."""
        return self.crm_source

    def mapping_sections(self):
        """For the template: per section its title and rows of (ERP field, bound field, required, why the
        saved pair broke in the CRM or "")."""
        broken = {(p["target"], p["erp_field"]): f"{p['crm_field']} {p['why']}." for p in self.instance.broken_mapping or []}
        return [
            (section, [(erp_field, self[key], required, broken.get((section.target, erp_field.name), ""))
                       for erp_field, key, required in self.mapping_rows[section.target]])
            for section in self.sections
        ]

    # --- the rules ------------------------------------------------------------------------------------------

    def _saved_unless_posted(self, name: str):
        value = self.cleaned_data.get(name)
        return getattr(self.instance, name) if value in (None, "") else value

    def clean_deletion_hold(self):
        return self._saved_unless_posted("deletion_hold")

    def clean_hold_over(self):
        return self._saved_unless_posted("hold_over")

    def clean_hold_over_percent(self):
        return self._saved_unless_posted("hold_over_percent")

    def clean(self):
        cleaned = super().clean()
        if self.currency_problem:
            raise forms.ValidationError(self.currency_problem)
        if cleaned.get("direction") == Direction.BOTH and not self.connection.two_way_allowed:
            self.add_error("direction", "Sync both ways is not available on this connection.")
        if self.module == SyncModule.CUSTOMERS and self.data.get("include_orphan_contacts") and (
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
                    direction=catalogue.mapping_direction(both_ways=both_ways, crm_field=crm_field),
                ))
        if self.module == SyncModule.ITEMS and cleaned.get("duplicate_key") == DuplicateKey.SKU:
            if not any(m.erp_field == "sku" and m.crm_field == "Product_Code" for m in mappings):
                self.add_error(map_key(ErpModel.ITEM, "sku"),
                               "Identifying duplicates by SKU needs SKU mapped to the CRM Product Code.")
        return mappings

    def save(self, commit=True):
        """The configuration with the choices the page did not offer back at their defaults (a customers
        source without its contacts has no orphan contacts, say)."""
        config = super().save(commit=False)
        for name in ModuleConfig.EDITABLE_FIELDS:
            if name not in self.fields:
                setattr(config, name, ModuleConfig._meta.get_field(name).get_default())
        if commit:
            config.save()
        return config
