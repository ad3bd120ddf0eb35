"""The FieldSpecs a module's sync converts by: its saved mapping, or the catalogue's defaults for what the
CRM has, each pair with what the conversion needs to know of both sides (see mapping.py)."""

from __future__ import annotations

from integration.catalogue import DEFAULT_MAPS, erp_fields, picklist_values

from .mapping import FieldSpec


def specs_for(
    *,
    target: str,
    crm_module: str,
    organization,
    mappings: list,
    crm_fields: list[dict] | None,
    two_way: bool,
) -> list[FieldSpec]:
    """The FieldSpecs of one section: its FieldMapping rows, or the catalogue defaults the CRM has.

    `mappings` are FieldMapping rows (or objects with the same attributes) of this target and CRM
    module; `crm_fields` the CRM's field metadata of the module, when fetched (needed for defaults and
    for the CRM spelling of picklist values).
    """
    known = {field.name: field for field in erp_fields(target, organization)}
    meta = {field["api_name"]: field for field in crm_fields or []}
    pairs: list[tuple[str, str, str, bool]] = []
    if mappings:
        for row in mappings:
            data_type = row.crm_data_type or (meta.get(row.crm_field) or {}).get("data_type") or ""
            pairs.append((row.erp_field, row.crm_field, data_type, row.direction == "both"))
    else:
        for erp_field, crm_field in DEFAULT_MAPS.get((target, crm_module), {}).items():
            if crm_field in meta:
                pairs.append((erp_field, crm_field, meta[crm_field].get("data_type") or "", True))
    specs = []
    for erp_field, crm_field, data_type, both in pairs:
        field = known.get(erp_field)
        if field is None:
            continue  # a custom field that was deleted since the mapping was saved
        specs.append(FieldSpec(
            erp_field=erp_field, crm_field=crm_field, kind=field.kind, crm_data_type=data_type,
            max_length=field.max_length, required=field.required, choices=field.choices,
            two_way=two_way and both,
            crm_choices=tuple(picklist_values(meta.get(crm_field) or {})), label=field.label,
        ))
    return specs
