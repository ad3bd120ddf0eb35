"""Our identity in the CRM: every record the sync pushes carries its ERP record's id in a unique CRM
field, `ERP_Id`, created once per CRM module through the fields API. Upserts are keyed by it, so a push
replayed after a crash updates the record the first attempt created instead of adding a second one; a
fetch that meets it knows the record came from here.

The value is "<organization id>-<ERP model>-<primary key>", built and read only here.
"""

from __future__ import annotations

from integration.catalogue import ERP_ID_FIELD

FIELD = ERP_ID_FIELD
# The field as the fields API takes it; the CRM names it from its label (api_name is what it will be).
DEFINITION = {"api_name": FIELD, "field_label": "ERP Id", "data_type": "text", "length": 60,
              "unique": {"casesensitive": "false"}}


def value(*, organization_id: int, erp_model: str, pk: int) -> str:
    """The ERP id a pushed record carries."""
    return f"{organization_id}-{erp_model}-{pk}"


def parse(text, *, organization_id: int, erp_model: str) -> int | None:
    """The primary key of the ERP record `text` names, when it is one of this organization's records of this
    kind; None otherwise (no id, another organization's, another kind's, or not an ERP id at all)."""
    parts = str(text or "").split("-")
    if len(parts) != 3 or parts[0] != str(organization_id) or parts[1] != erp_model:
        return None
    return int(parts[2]) if parts[2].isdigit() else None
