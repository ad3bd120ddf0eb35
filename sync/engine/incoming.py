"""CRM records into the ERP, one page at a time, whatever brought them (a listing, a search, one record,
an import): route each to its adapter, convert it under the mapping, load what the planner needs,
plan, and write, in one transaction with the cursor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from ..models import RecordLink
from . import erp_id, planner
from .adapters import CONTACT_PERSONS, CONTACTS, Adapter, CrmModuleRead
from .applier import sort_page, stage_adds, touches_existing, write_sorted, write_staged
from .bulk import ReservedIds, relaxed_commit
from .context import AdapterRun, RunContext
from .cursor import parse_time
from .loading import load_page, parents_for
from .mapping import record_converter
from .planner import Incoming, PlanInput
from .progress import Counts, record_progress


def _lookup_id(value) -> str | None:
    """The id of a lookup field's value ({"id": ..., "name": ...}), if it has one."""
    return str(value.get("id")) if isinstance(value, dict) and value.get("id") else None


def converter(ctx: RunContext, adapter: Adapter, parents: dict[str, int]) -> Callable[[dict], Incoming]:
    """One page's CRM records as the planner takes them, a record a call: each one's values converted under
    the mapping, with what failed. What the page's records share is looked up once."""
    crm_values, parse_ref, ref_field = record_converter(ctx.specs(adapter)), erp_id.parse, erp_id.FIELD
    organization_id, erp_model, has_parent = ctx.connection.organization_id, adapter.erp_model, adapter.has_parent

    def convert(record: dict) -> Incoming:
        values, errors = crm_values(record)
        account_id = _lookup_id(record.get("Account_Name")) if has_parent else None
        return Incoming(
            erp_ref=parse_ref(record.get(ref_field), organization_id=organization_id, erp_model=erp_model),
            crm_id=str(record.get("id")), values=values, errors=errors,
            modified=parse_time(record.get("Modified_Time")), owner_id=_lookup_id(record.get("Owner")),
            parent_crm_id=account_id, parent_erp_id=parents.get(account_id) if account_id else None,
        )

    return convert


def route(ctx: RunContext, read: CrmModuleRead, records: list[dict], *, planned: dict[str, int] | None = None):
    """Records per adapter: a contact with a synced account becomes a contact person, one without an
    individual customer (when orphans are included; else a contact person that is skipped, saying why).
    `planned` adds accounts a preview would link (CRM account id -> ERP customer id, or a stand-in).
    Returns (adapter name -> (adapter, records), CRM account id -> ERP customer id)."""
    groups: dict[str, tuple[Adapter, list[dict]]] = {a.name: (a, []) for a in read.adapters}
    if not read.routes_by_account:
        groups[read.adapters[0].name][1].extend(records)
        return groups, {}
    accounts = {_lookup_id(r.get("Account_Name")) for r in records} - {None}
    parents = parents_for(connection=ctx.connection, account_ids=accounts)
    if planned:
        parents.update({account: planned[account] for account in accounts if account in planned})
    individuals = _pushed_individuals(ctx, read, records)
    for record in records:
        if _lookup_id(record.get("Account_Name")) in parents:
            target = CONTACT_PERSONS
        elif CONTACTS.name in groups or str(record.get("id")) in individuals:
            target = CONTACTS
        else:
            target = CONTACT_PERSONS  # an orphan while orphans are left out: skipped, saying why
        groups.setdefault(target.name, (target, []))[1].append(record)
    return groups, parents


def _pushed_individuals(ctx: RunContext, read: CrmModuleRead, records: list[dict]) -> set[str]:
    """Contacts that are individual customers pushed from here (both ways, customers follow their type),
    when orphan contacts are not fetched: they stay individual customers rather than orphans."""
    if CONTACTS in read.adapters or not ctx.config.syncs_both_ways:
        return set()
    ids = [str(r.get("id")) for r in records if _lookup_id(r.get("Account_Name")) is None]
    return set(RecordLink.objects.filter(connection=ctx.connection, crm_module=CONTACTS.crm_module, crm_id__in=ids,
                                         erp_model=CONTACTS.erp_model).values_list("crm_id", flat=True)) if ids else set()


def apply_records(ctx: RunContext, read: CrmModuleRead, records: list[dict], *, cursor: dict | None) -> Counts:
    """One page: route, convert, load, plan and write, in one transaction with the cursor."""
    with transaction.atomic():
        relaxed_commit()
        total = write_page(ctx, read, plan_page(ctx, read, records), cursor=cursor)
    ctx.growth.grew(total.added)
    return total


@dataclass
class PlannedGroup:
    """One adapter's share of a planned page: its plan sorted into what is written."""

    scope: AdapterRun
    data: PlanInput
    sorted: object  # applier's sorted page
    staged: list | None = None  # its COPY data, once staged


@dataclass
class PlannedPage:
    groups: list[PlannedGroup]

    @property
    def only_adds(self) -> bool:
        """Writing it adds rows and changes none (see applier.touches_existing)."""
        return not any(touches_existing(group.sorted) or group.data.unique_field for group in self.groups)

    def primaries(self) -> set[int]:
        """The customers this page gives their primary contact person."""
        return {item.action.parent_id for group in self.groups for item in group.sorted.prepared
                if item.action.make_primary and item.action.parent_id}

    def stage(self, ids: ReservedIds) -> None:
        """Make a page that only adds into COPY data, which write_page then sends."""
        for group in self.groups:
            group.staged = stage_adds(group.scope, group.sorted, ids)


def plan_page(ctx: RunContext, read: CrmModuleRead, records: list[dict], *,
              primaries: set[int] = frozenset(), new: bool = False) -> PlannedPage:
    """Route, convert, load and plan one page, and prepare its writes (no database writes). `primaries`:
    customers given a primary contact person by pages not yet committed; `new`: the records are known
    to have no links (see loading.load_page)."""
    groups, parents = route(ctx, read, records)
    planned = PlannedPage(groups=[])
    for adapter, rows in groups.values():
        if not rows:
            continue
        scope = ctx.adapter_run(adapter)
        incoming = list(map(converter(ctx, adapter, parents), rows))
        data, loaded = load_page(scope, incoming, new=new)
        if primaries and data.has_parent:
            data.parents_with_primary |= primaries
        actions = planner.plan(data)
        planned.groups.append(PlannedGroup(scope=scope, data=data,
                                           sorted=sort_page(scope, loaded, actions, progress=len(rows))))
    return planned


def write_page(ctx: RunContext, read: CrmModuleRead, planned: PlannedPage, *, cursor: dict | None,
               ready: Callable[[], None] | None = None) -> Counts:
    """Write a planned page (its staged COPY data, once staged) and the run's progress with its cursor;
    call inside a transaction, on any connection. `ready`, called before the progress is written, raises
    to roll the page back (the pipeline: the page before was not committed)."""
    total = Counts()
    for group in planned.groups:
        if group.staged is None:
            total.add(write_sorted(group.scope, group.data, group.sorted, report=False))
        else:
            total.add(write_staged(group.sorted, group.staged))
    if ready is not None:
        ready()
    record_progress(ctx.adapter_run(read.adapters[0]), total, cursor=cursor)
    return total
