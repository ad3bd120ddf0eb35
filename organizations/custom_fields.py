"""Custom field values on the ERP records' forms: one form field per definition, stored in `custom_fields`."""

import datetime
from decimal import Decimal

from django import forms

from .models import CustomField, CustomFieldType

PREFIX = "cf__"


def form_field_for(definition: CustomField) -> forms.Field:
    kind = definition.data_type
    common = {"label": definition.label, "required": False}
    if kind == CustomFieldType.NUMBER:
        return forms.IntegerField(**common)
    if kind == CustomFieldType.DECIMAL:
        return forms.DecimalField(max_digits=18, decimal_places=4, **common)
    if kind == CustomFieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == CustomFieldType.BOOLEAN:
        return forms.BooleanField(**common)
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + [(o, o) for o in definition.options], **common)
    return forms.CharField(max_length=255, **common)


def to_json_value(value):
    """Custom field values are stored as JSON: dates as ISO strings, decimals as strings (no float error)."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value == "":
        return None
    return value


class CustomFieldsFormMixin:
    """A ModelForm of an ERP record in `organization` with the organization's custom fields of
    `custom_field_module` added; saving puts their values in the record's `custom_fields`."""

    custom_field_module: str = ""

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_custom_fields(organization)

    def add_custom_fields(self, organization):
        self.custom_field_definitions = list(
            CustomField.objects.filter(organization=organization, module=self.custom_field_module)
        )
        stored = self.instance.custom_fields or {}
        for definition in self.custom_field_definitions:
            name = PREFIX + definition.api_name
            self.fields[name] = form_field_for(definition)
            if definition.api_name in stored:
                self.initial[name] = stored[definition.api_name]

    def collect_custom_fields(self) -> dict:
        values = dict(self.instance.custom_fields or {})
        for definition in self.custom_field_definitions:
            values[definition.api_name] = to_json_value(self.cleaned_data.get(PREFIX + definition.api_name))
        return values

    def save(self, commit=True):
        self.instance.custom_fields = self.collect_custom_fields()
        return super().save(commit)
