"""Push (ERP → CRM), when the module syncs both ways: linked ERP records changed since their last sync
go out as updates by CRM id (only their two-way fields, merged three ways like a fetch), and ERP
records the CRM has never seen go out as upserts keyed by the ERP id field (`erp_id`), so a push
replayed after a crash never creates a second CRM record. Business customers → Accounts, individual
customers → Contacts, contact persons → Contacts with their Account, vendors → Vendors, items → Products.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from integration.crm.client import criteria_value
from integration.crm.errors import CrmInvalidData
from integration.models import ErpModel

from ..flags import mark_linked
from ..models import Decision, DuplicateSuggestion, HeldDeletion, IssueKind, RecordLink, SyncIssue
from . import erp_id, planner, timeline
from .adapters import Adapter, linked_subquery
from .bulk import update_rows
from .context import AdapterRun, RunContext
from .cursor import parse_time
from .loading import link_state
from .mapping import read_erp, record_converter, to_crm, write_erp_changes
from .planner import Action
from .progress import Counts, issue_for, record_progress, refused_by_crm

log = logging.getLogger("sync")

PUSH_BATCH = 100
PUSH_WINDOW_MARGIN = datetime.timedelta(minutes=1)  # clocks of the app servers writing updated_at


def push(ctx: RunContext, adapter: Adapter, *, new_records: bool, before_fetch: bool = False,
         against_crm: bool = False) -> None:
    """The phase, for one adapter: changed linked records, then (with `new_records`) new ones. Before the
    fetch (items, whose ERP goes first), a new record that looks like a record already in the CRM waits
    for the fetch, whose duplicate rule decides what it is. `against_crm` reads the CRM's current values
    of changed records first whichever side wins, for a push that no fetch came before."""
    specs = ctx.specs(adapter)
    if not any(spec.two_way for spec in specs):
        return
    connection, config = ctx.connection, ctx.config
    queryset = adapter.queryset(connection.organization)
    window = queryset
    if config.last_push_at is not None:
        # Only rows edited since the last complete push can hold news for the CRM: the updated_at
        # index keeps this cheap however many records are linked.
        window = queryset.filter(updated_at__gte=config.last_push_at - PUSH_WINDOW_MARGIN)
    changed = window.filter(Exists(RecordLink.objects.filter(
        connection=connection, erp_model=adapter.erp_model, erp_id=OuterRef("pk"),
        crm_deleted_at__isnull=True, last_synced_at__lt=OuterRef("updated_at"))))
    # Deleted in the CRM and held for approval: nothing to send it to.
    changed = changed.exclude(Exists(HeldDeletion.objects.filter(module_config=config, erp_model=adapter.erp_model,
                                                                 erp_id=OuterRef("pk"))))
    for chunk in _chunks(changed):
        _push_changed(ctx, adapter, chunk, against_crm=against_crm)
    if not new_records:
        return
    fresh = _new_records(ctx, adapter, queryset, window)
    if before_fetch:  # an ERP record an admin said is a CRM record's twin waits for the fetch to link it
        fresh = fresh.exclude(Exists(DuplicateSuggestion.objects.filter(
            module_config=config, erp_model=adapter.erp_model, erp_id=OuterRef("pk"), decision=Decision.ACCEPTED,
            used_by__isnull=True)))
    for chunk in _chunks(fresh):
        if before_fetch:
            chunk = _without_likely_duplicates(ctx, adapter, chunk)
        if chunk:
            _push_new(ctx, adapter, chunk)


def _new_records(ctx: RunContext, adapter: Adapter, queryset, window):
    """ERP records of this adapter without a link that may go to the CRM."""
    # A contact person waits for its customer's link, which may come long after it was last edited.
    fresh = (queryset if adapter.has_parent else window).exclude(
        linked_subquery(connection=ctx.connection, adapter=adapter))
    # Left alone on purpose: a duplicate under the rule "Skip" stays out of the CRM too.
    fresh = fresh.exclude(Exists(SyncIssue.objects.filter(
        run__module_config=ctx.config, kind=IssueKind.SKIPPED, erp_model=adapter.erp_model, erp_id=OuterRef("pk"))))
    if hasattr(adapter.model, "is_active"):
        fresh = fresh.filter(is_active=True)
    if adapter.has_parent:
        fresh = fresh.filter(Exists(RecordLink.objects.filter(
            connection=ctx.connection, erp_model=ErpModel.CUSTOMER, crm_module="Accounts",
            erp_id=OuterRef("customer_id"), crm_deleted_at__isnull=True)))
    return fresh


def _chunks(queryset, size: int = PUSH_BATCH):
    """Rows in primary-key order, `size` at a time, without holding them all (keyset paging)."""
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def _without_likely_duplicates(ctx: RunContext, adapter: Adapter, objects: list) -> list:
    """Those of `objects` whose duplicate key (an item's name or SKU) no CRM record has: one search."""
    name = adapter.duplicate_field(ctx.config)
    spec = ctx.adapter_run(adapter).by_name.get(name) if name else None
    if spec is None:
        return objects
    keys = {planner.normalise(read_erp(spec, obj)): obj for obj in objects}
    keys.pop("", None)
    if not keys:
        return objects
    values = ",".join(criteria_value(str(read_erp(spec, obj))) for obj in keys.values())
    try:
        found = ctx.client.search(adapter.crm_module, criteria=f"({spec.crm_field}:in:{values})",
                                  fields=[spec.crm_field])
    except CrmInvalidData as error:  # the CRM would not search that field: all of them wait for the fetch
        log.info("could not look for duplicates of new %s in the CRM: %s", adapter.crm_module, error)
        return []
    taken = {planner.normalise(record.get(spec.crm_field)) for record in found}
    return [obj for obj in objects if planner.normalise(read_erp(spec, obj)) not in taken]


# --- changed records --------------------------------------------------------------------------------------


@dataclass
class _Outgoing:
    obj: object
    link: RecordLink
    action: Action
    owner: str | None = None  # given another owner here, who is a CRM user too
    result: object | None = None  # the CRM's WriteResult, when it was sent


@dataclass
class _Written:
    counts: Counts
    issues: list[SyncIssue] = field(default_factory=list)
    rows: list = field(default_factory=list)
    columns: set[str] = field(default_factory=lambda: {"updated_at"})
    links: list[RecordLink] = field(default_factory=list)
    timeline: list = field(default_factory=list)


def _push_changed(ctx: RunContext, adapter: Adapter, objects: list, *, against_crm: bool = False) -> None:
    scope = ctx.adapter_run(adapter)
    outgoing = _plan_changed(ctx, scope, objects, against_crm=against_crm)
    sent = [item for item in outgoing if item.action.push or item.owner is not None]
    by_name = scope.by_name
    records = [{"id": item.link.crm_id,
                **{by_name[n].crm_field: to_crm(by_name[n], v) for n, v in item.action.push.items()},
                **({"Owner": {"id": item.owner}} if item.owner is not None else {})}
               for item in sent]
    results = ctx.client.update(adapter.crm_module, records) if records else []
    for item, result in zip(sent, results, strict=True):
        item.result = result
    now = timezone.now()
    written = _Written(counts=Counts(done=len(outgoing)))
    for item in outgoing:
        _settle_changed(ctx, scope, item, written, now)
    if adapter.customer_type == "individual":
        written.columns.add("display_name")
    written.counts.updated += len(written.rows)
    with transaction.atomic():
        if written.rows:
            update_rows(adapter.model, written.rows, sorted(written.columns))
        update_rows(RecordLink, written.links, ["synced_snapshot", "last_synced_at", "crm_modified_time"])
        SyncIssue.objects.bulk_create(written.issues)
        timeline.write(written.timeline)
        record_progress(scope, written.counts, cursor=None, now=now)


def _plan_changed(ctx: RunContext, scope: AdapterRun, objects: list, *, against_crm: bool) -> list[_Outgoing]:
    """The three-way merge of each changed record; when the ERP goes first (items), or no fetch came
    before, against the CRM's current values, read for the purpose."""
    adapter, specs = scope.adapter, scope.specs
    links = {link.erp_id: link for link in RecordLink.objects.filter(
        connection=ctx.connection, erp_model=adapter.erp_model, erp_id__in=[o.pk for o in objects])}
    current = None
    if not adapter.crm_wins or against_crm:
        fields = ["id", *[spec.crm_field for spec in specs]]
        current = {str(r["id"]): r for r in ctx.client.get_records(
            adapter.crm_module, [links[o.pk].crm_id for o in objects if o.pk in links], fields=fields)}
    outgoing, crm_values = [], record_converter(specs)
    for obj in objects:
        link = links.get(obj.pk)
        if link is None:
            continue
        crm = None
        if current is not None:
            record = current.get(link.crm_id)
            if record is None:
                continue  # deleted in the CRM: the deletion step deals with it
            crm, _ = crm_values(record)  # a value that does not convert: the ERP's stands
        erp = {spec.erp_field: read_erp(spec, obj) for spec in specs}
        action = planner.plan_push(specs, link=link_state(link), erp=erp, crm=crm, crm_wins=adapter.crm_wins)
        action.crm_id = link.crm_id
        owner = ctx.owners.crm_owner(obj)
        changed_owner = owner is not None and owner != (link.synced_snapshot or {}).get(planner.OWNER_KEY)
        outgoing.append(_Outgoing(obj=obj, link=link, action=action, owner=owner if changed_owner else None))
    return outgoing


def _settle_changed(ctx: RunContext, scope: AdapterRun, item: _Outgoing, written: _Written, now) -> None:
    """What one changed record's push leaves here: an issue when the CRM refused it, else the CRM's side of
    the merge written to the ERP record and the link's new snapshot."""
    obj, link, action, result = item.obj, item.link, item.action, item.result
    if result is not None and not result.ok:
        written.counts.failed += 1
        ctx.push_failed += 1
        written.issues.append(refused_by_crm(scope, obj, link.crm_id, result))
        return
    for issue in action.issues:
        written.counts.conflicts += issue.kind == "conflict"
        written.issues.append(issue_for(scope, action, issue))
    if action.erp_changes:  # the CRM's side of a merge (the ERP went first)
        written.columns |= write_erp_changes(scope.by_name, obj, action.erp_changes, plain=scope.plain_fields)
        scope.adapter.derive(obj)
        obj.updated_at = now  # not auto_now's later instant: the link's sync time covers it
        written.rows.append(obj)
    link.synced_snapshot = planner.pushed_snapshot(scope.specs, action.snapshot, action.push)
    if result is not None and item.owner is not None:
        link.synced_snapshot[planner.OWNER_KEY] = item.owner
    link.last_synced_at = now
    if result is not None:
        written.counts.pushed += 1
        link.crm_modified_time = parse_time(result.details.get("Modified_Time")) or link.crm_modified_time
        written.timeline += timeline.pushed(scope, action, obj.pk)
    written.links.append(link)


# --- new records ------------------------------------------------------------------------------------------


def ensure_erp_id_field(ctx: RunContext, module: str) -> None:
    """The unique CRM field that carries each pushed record's ERP id, created once per CRM module."""
    state = ctx.state(module)
    if state.get("erp_id_field") == erp_id.FIELD:
        return
    ctx.client.ensure_field(module, erp_id.DEFINITION, fields=ctx.crm_fields(module))
    state["erp_id_field"] = erp_id.FIELD
    ctx.save_cursor(module, state)


def _new_record(ctx: RunContext, scope: AdapterRun, obj, accounts: dict[int, str]) -> tuple[dict, dict]:
    """(the CRM record to upsert, the ERP values it carries)."""
    adapter = scope.adapter
    erp = {spec.erp_field: read_erp(spec, obj) for spec in scope.specs}
    record = {spec.crm_field: to_crm(spec, erp[spec.erp_field]) for spec in scope.specs}
    record = {k: v for k, v in record.items() if v is not None}
    adapter.complete_for_crm(obj, record)
    record[erp_id.FIELD] = erp_id.value(organization_id=ctx.connection.organization_id,
                                        erp_model=adapter.erp_model, pk=obj.pk)
    owner = ctx.owners.crm_owner(obj)
    if owner is not None:
        record["Owner"] = {"id": owner}
    if adapter.has_parent:
        record["Account_Name"] = {"id": accounts[obj.customer_id]}
    return record, erp


def _push_new(ctx: RunContext, adapter: Adapter, objects: list) -> None:
    """ERP records the CRM has never seen, upserted by their ERP id: a replay after a crash updates the
    record the first attempt created instead of adding a second one."""
    ensure_erp_id_field(ctx, adapter.crm_module)
    scope = ctx.adapter_run(adapter)
    accounts = {}
    if adapter.has_parent:
        accounts = dict(RecordLink.objects.filter(
            connection=ctx.connection, erp_model=ErpModel.CUSTOMER, crm_module="Accounts",
            erp_id__in=[o.customer_id for o in objects]).values_list("erp_id", "crm_id"))
    pairs = [_new_record(ctx, scope, obj, accounts) for obj in objects]
    results = ctx.client.upsert(adapter.crm_module, [record for record, _ in pairs],
                                duplicate_check_fields=[erp_id.FIELD])
    now = timezone.now()
    counts = Counts(done=len(objects))
    issues, links = [], []
    for obj, (_, erp), result in zip(objects, pairs, results, strict=True):
        if not result.ok:
            counts.failed += 1
            ctx.push_failed += 1
            issues.append(refused_by_crm(scope, obj, "", result))
            continue
        counts.pushed += 1
        links.append(_new_link(ctx, scope, obj, erp, result, accounts, now))
    with transaction.atomic():
        # A replayed push finds the link the first attempt wrote (same CRM id): keep that one.
        known = set(RecordLink.objects.filter(connection=ctx.connection, crm_module=adapter.crm_module,
                                              crm_id__in=[link.crm_id for link in links])
                    .values_list("crm_id", flat=True))
        RecordLink.objects.bulk_create([link for link in links if link.crm_id not in known])
        mark_linked(adapter.model, [link.erp_id for link in links], True)
        SyncIssue.objects.bulk_create(issues)
        record_progress(scope, counts, cursor=None, now=now)


def _new_link(ctx: RunContext, scope: AdapterRun, obj, erp: dict, result, accounts: dict[int, str], now) -> RecordLink:
    adapter = scope.adapter
    snapshot = planner.pushed_snapshot(scope.specs, {}, erp)
    # The owner sent, else the CRM's default one (the API user who created the record): what the next
    # fetch will read back, so that it is not taken for a change made in the CRM.
    created_by = result.details.get("Created_By")
    snapshot[planner.OWNER_KEY] = ctx.owners.crm_owner(obj) or (
        str(created_by["id"]) if isinstance(created_by, dict) and created_by.get("id") else None)
    if adapter.has_parent:
        snapshot[planner.PARENT_KEY] = accounts[obj.customer_id]
    return RecordLink(
        connection=ctx.connection, crm_module=adapter.crm_module, crm_id=str(result.id),
        erp_model=adapter.erp_model, erp_id=obj.pk, origin="erp", synced_snapshot=snapshot,
        crm_modified_time=parse_time(result.details.get("Modified_Time")), last_synced_at=now)
