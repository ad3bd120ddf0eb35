"""The planner's vocabulary: what comes in (incoming records, links, ERP rows) and what goes out (actions
with their issues). Plain values, shared by the planner, the loader, the applier and the preview."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from .mapping import ConversionError, FieldSpec


class Kind:
    CREATE = "create"  # a new ERP record and its link
    LINK = "link"  # an existing ERP record is linked (duplicate rule "overwrite") and takes CRM values
    UPDATE = "update"  # changes to the ERP record, the CRM record, or both
    CONFLICT = "conflict"  # an update in which a field changed on both sides
    NOOP = "noop"  # nothing to write (replays and our own echoes)
    SKIP = "skip"  # deliberately left alone, with an issue saying why
    ERROR = "error"  # could not be synced, with an issue saying why
    DELETE = "delete"  # the ERP record goes (deleted in the CRM)
    UNLINK = "unlink"  # the link goes, the ERP record stays (deleted in the CRM, but kept)


@dataclass(slots=True)  # one per record: lighter to make
class Incoming:
    """One CRM record, already converted under the mapping."""

    crm_id: str
    values: dict[str, Any]
    errors: list[ConversionError] = field(default_factory=list)
    modified: datetime.datetime | None = None
    owner_id: str | None = None
    parent_crm_id: str | None = None  # contact persons: the CRM account
    parent_erp_id: int | None = None  # ... and the customer it is linked to
    erp_ref: int | None = None  # the ERP record this CRM record was pushed from (its ERP id field)


@dataclass(slots=True)
class LinkState:
    erp_model: str
    erp_id: int
    origin: str
    snapshot: dict
    link_id: int | None = None


@dataclass(slots=True)
class ErpRow:
    erp_id: int
    values: dict[str, Any]  # canonical values under the mapping
    parent_id: int | None = None  # contact persons: their customer
    is_primary: bool = False
    label: str = ""  # how to name it in messages


@dataclass(slots=True)
class Issue:
    kind: str  # error | conflict | skipped (SyncIssue kinds)
    message: str
    field: str = ""
    crm_value: Any = None
    erp_value: Any = None


@dataclass(slots=True)
class Action:
    kind: str
    crm_id: str
    erp_id: int | None = None
    erp_changes: dict[str, Any] = field(default_factory=dict)  # ERP field -> canonical value to write
    push: dict[str, Any] = field(default_factory=dict)  # ERP field -> canonical value to send to the CRM
    snapshot: dict[str, Any] = field(default_factory=dict)  # the link's snapshot after this action
    base: dict[str, Any] = field(default_factory=dict)  # the link's snapshot before it
    issues: list[Issue] = field(default_factory=list)
    modified: datetime.datetime | None = None
    parent_id: int | None = None  # contact persons: customer to attach to (create / move)
    make_primary: bool = False
    retire: LinkState | None = None  # a link this CRM record leaves (its ERP record changed kind or is gone)
    retire_record: bool = False  # ... and that ERP record goes with it (when it came from the CRM)
    deactivate: bool = False  # deletions: keep the ERP record, inactive
    how: str = ""  # why an unlinked record links or is made: "erp id", "duplicate rule", "suggestion", "clone"


@dataclass
class PlanInput:
    specs: list[FieldSpec]
    erp_model: str
    crm_wins: bool  # the module's first side: CRM for customers and vendors, ERP for items
    incoming: list[Incoming]
    links: dict[str, LinkState] = field(default_factory=dict)  # crm_id -> link (any ERP model)
    rows: dict[int, ErpRow] = field(default_factory=dict)  # linked rows and duplicate candidates
    duplicate_field: str | None = None  # ERP field compared for duplicates
    # The incoming values joined to compare with it, when not that field itself (a contact's first and
    # last name against an individual customer's display name).
    duplicate_source: tuple[str, ...] = ()
    duplicate_label: str = ""  # what is compared, as people say it ("display name", "SKU")
    noun: str = "record"  # what the ERP records are ("customer", "item")
    duplicate_action: str = "skip"
    candidates: dict[str, list[int]] = field(default_factory=dict)  # normalised key -> unlinked ERP ids
    unique_field: str | None = None  # an ERP field unique when set (item SKU)
    unique_taken: dict[str, int] = field(default_factory=dict)  # its values in use -> ERP id
    has_parent: bool = False  # contact persons
    parents_with_primary: set[int] = field(default_factory=set)
    own: set[int] = field(default_factory=set)  # unlinked ERP ids named by incoming erp_ref
    # An admin's decisions on possible duplicates: crm_id -> the ERP id to link to (accepted), and the
    # (crm_id, ERP id) pairs that are two parties (rejected: made apart even when the names are the same).
    accepted: dict[str, int] = field(default_factory=dict)
    rejected: set[tuple[str, int]] = field(default_factory=set)
    links_taken: set[int] = field(default_factory=set)  # (plan's own) ERP records an accepted suggestion took
