"""Reading what the planner needs for one page, in a handful of queries: the records' links, their ERP
rows, the ERP records our own pushed records name, duplicate candidates, SKUs in use, and the parent
customers of contact persons."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models.functions import Lower, Trim

from customers.models import ContactPerson
from integration.models import ErpModel

from ..models import Decision, DuplicateSuggestion, RecordLink
from . import planner
from .bulk import probe, probe_values
from .context import AdapterRun
from .mapping import read_erp
from .planner import ErpRow, Incoming, LinkState, PlanInput


@dataclass
class PageRows:
    """The database rows behind a PlanInput, kept to write the plan."""

    links: dict[str, RecordLink] = field(default_factory=dict)
    objects: dict[int, object] = field(default_factory=dict)

    def add(self, scope: AdapterRun, data: PlanInput, obj) -> None:
        self.objects[obj.pk] = obj
        data.rows[obj.pk] = erp_row(scope, obj)


def link_state(link: RecordLink) -> LinkState:
    return LinkState(erp_model=link.erp_model, erp_id=link.erp_id, origin=link.origin,
                     snapshot=dict(link.synced_snapshot or {}), link_id=link.pk)


def erp_row(scope: AdapterRun, obj) -> ErpRow:
    return ErpRow(
        erp_id=obj.pk, values={spec.erp_field: read_erp(spec, obj) for spec in scope.specs},
        parent_id=getattr(obj, "customer_id", None), is_primary=getattr(obj, "is_primary", False),
        label=scope.adapter.label(obj),
    )


def parents_for(*, connection, account_ids: set[str]) -> dict[str, int]:
    """CRM account id -> the ERP customer it is linked to (live links only)."""
    if not account_ids:
        return {}
    found = probe_values(RecordLink, ["crm_id", "erp_id", "erp_model", "crm_deleted_at"], "crm_id", account_ids,
                         connection=connection, crm_module="Accounts")
    return {crm_id: erp_id for crm_id, erp_id, erp_model, deleted_at in found
            if erp_model == ErpModel.CUSTOMER and deleted_at is None}


def load_page(scope: AdapterRun, incoming: list[Incoming], *, new: bool = False) -> tuple[PlanInput, PageRows]:
    """`new`: the records are known to have no links (a first load's file): their links are not looked up,
    and should one have been made meanwhile, the database refuses the page's (unique) link."""
    adapter, connection = scope.adapter, scope.connection
    rows = PageRows()
    ids = [] if new else [record.crm_id for record in incoming]
    for link in probe(RecordLink, "crm_id", ids, connection=connection, crm_module=adapter.crm_module):
        rows.links[link.crm_id] = link
    mine = [link.erp_id for link in rows.links.values() if link.erp_model == adapter.erp_model]
    rows.objects = scope.erp_rows.in_bulk(mine) if mine else {}
    data = PlanInput(
        specs=scope.specs, erp_model=adapter.erp_model, crm_wins=adapter.crm_wins, incoming=incoming,
        links={crm_id: link_state(link) for crm_id, link in rows.links.items()},
        rows={pk: erp_row(scope, obj) for pk, obj in rows.objects.items()},
        duplicate_field=adapter.duplicate_field(scope.config), duplicate_action=scope.config.duplicate_action,
        duplicate_source=adapter.duplicate_source(scope.specs),
        duplicate_label=adapter.duplicate_label(scope.config, scope.specs), noun=adapter.noun,
        unique_field=adapter.unique_field, has_parent=adapter.has_parent,
    )
    unlinked = [record for record in incoming if record.crm_id not in rows.links and not record.errors]
    _load_own(scope, data, rows, unlinked)
    _load_decisions(scope, data, rows, unlinked)
    _load_candidates(scope, data, rows, unlinked)
    _load_unique(scope, data, rows, incoming)
    if adapter.has_parent:
        parent_ids = {record.parent_erp_id for record in incoming if record.parent_erp_id}
        data.parents_with_primary = {customer_id for (customer_id,) in probe_values(
            ContactPerson, ["customer_id"], "customer", parent_ids, is_primary=True)}
    return data, rows


def _load_own(scope, data: PlanInput, rows: PageRows, unlinked: list[Incoming]) -> None:
    """Unlinked ERP records that records of this page name by their ERP id (we pushed them)."""
    refs = {record.erp_ref for record in unlinked if record.erp_ref}
    if refs:
        for obj in scope.unlinked_rows.filter(pk__in=refs):
            rows.add(scope, data, obj)
            data.own.add(obj.pk)


def _load_decisions(scope, data: PlanInput, rows: PageRows, unlinked: list[Incoming]) -> None:
    """An admin's decisions on possible duplicates among this page's new records: the accepted ERP records
    (still unlinked) to link to, the rejected pairs to keep apart."""
    if not unlinked or not scope.has_decisions:
        return
    decided = DuplicateSuggestion.objects.filter(
        module_config=scope.config, crm_module=scope.adapter.crm_module, erp_model=scope.adapter.erp_model,
        crm_id__in=[record.crm_id for record in unlinked], decision__in=(Decision.ACCEPTED, Decision.REJECTED))
    accepted = {}
    for suggestion in decided:
        if suggestion.decision == Decision.ACCEPTED:
            accepted[suggestion.crm_id] = suggestion.erp_id
        else:
            data.rejected.add((suggestion.crm_id, suggestion.erp_id))
    if accepted:
        for obj in scope.unlinked_rows.filter(pk__in=set(accepted.values())):
            if obj.pk not in data.rows:
                rows.add(scope, data, obj)
        data.accepted = {crm_id: erp_id for crm_id, erp_id in accepted.items() if erp_id in data.rows}


def _load_candidates(scope, data: PlanInput, rows: PageRows, unlinked: list[Incoming]) -> None:
    """Unlinked ERP records whose duplicate key equals one of this page's new records'."""
    if not data.duplicate_field or not unlinked:
        return
    if scope.may_have_duplicates is not None and not scope.may_have_duplicates():
        return
    keys = {planner.duplicate_text(data, record.values).lower() for record in unlinked} - {""}
    if not keys:
        return
    found = scope.unlinked_rows.annotate(_key=Lower(Trim(data.duplicate_field))).filter(_key__in=keys).order_by("pk")
    for obj in found:
        rows.add(scope, data, obj)
        data.candidates.setdefault(planner.normalise(getattr(obj, data.duplicate_field)), []).append(obj.pk)


def _load_unique(scope, data: PlanInput, rows: PageRows, incoming: list[Incoming]) -> None:
    """Which values of a unique ERP field (SKU) this page's records bring are in use, and by whom."""
    if not data.unique_field:
        return
    values = {record.values.get(data.unique_field) for record in incoming} - {None, ""}
    if not values:
        return
    for obj in scope.erp_rows.filter(**{f"{data.unique_field}__in": values}):
        data.unique_taken[getattr(obj, data.unique_field)] = obj.pk
        if obj.pk not in data.rows:  # named in the message when a CRM record wants its value
            rows.add(scope, data, obj)
