"""Records that leave the CRM: deleted there (the deleted-records listing since the module's deletion
cursor), or, for one record, found gone. CRM-origin ERP records are deleted unless they have
transactions (then kept, inactive and unlinked, behind a tombstone link so that two-way never pushes
them back); ERP-origin records are never deleted because of the CRM. Also the links a CRM record
leaves when it becomes another kind of ERP record (a contact that found or lost its account)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from customers.models import ContactPerson, Customer
from integration.crm.client import PAGE_SIZE
from integration.models import ErpModel

from ..flags import mark_linked
from ..models import RecordLink, SyncIssue
from . import cursor, holds, planner
from .adapters import CONTACT_PERSONS, CONTACTS, CrmModuleRead
from .context import AdapterRun, RunContext
from .loading import link_state
from .planner import Action, Kind, LinkState
from .progress import Counts, issue_for, record_progress


def deletions(ctx: RunContext, read: CrmModuleRead) -> None:
    """The phase: records deleted in the CRM since the deletion cursor, applied a page of ids at a time
    (the cursor moves with the last page), unless there are so many that the module holds them for an
    admin's approval (`holds`)."""
    module = read.crm_module
    state = ctx.state(module)
    if cursor.DELETED not in state:
        # A CRM module only written to has no fetch to start its deletion cursor: nothing of ours was
        # there before this run, so deletions count from now.
        state[cursor.DELETED] = cursor.iso(ctx.run.started_at or timezone.now())
        ctx.save_cursor(module, state)
        return
    adapters = _adapters(read)
    largest = cursor.parse_time(state.get(cursor.DELETED))
    ids: list[str] = []
    for record in ctx.client.iter_deleted(module, since=cursor.since(state, cursor.DELETED)):
        ids.append(str(record.get("id")))
        deleted = cursor.parse_time(record.get("deleted_time"))
        if deleted and (largest is None or deleted > largest):
            largest = deleted
    held = holds.hold_if_many(ctx, read, adapters, list(dict.fromkeys(ids)))
    todo = [crm_id for crm_id in dict.fromkeys(ids) if crm_id not in held]
    pages = [todo[start:start + PAGE_SIZE] for start in range(0, len(todo), PAGE_SIZE)] or [[]]
    for number, page in enumerate(pages):
        saved = None
        if number == len(pages) - 1:
            if largest is not None:
                cursor.advance(state, cursor.DELETED, largest, complete=True)
            saved = ctx.cursor_with(module, state)
        with transaction.atomic():
            for index, adapter in enumerate(adapters):
                plan_and_apply(ctx.adapter_run(adapter), page, cursor=saved if index == len(adapters) - 1 else None)


def _adapters(read: CrmModuleRead) -> list:
    adapters = list(read.adapters)
    if read.routes_by_account and CONTACTS not in adapters:
        adapters.append(CONTACTS)  # orphans synced while they were included, individuals pushed there
    return adapters


def record_gone(ctx: RunContext, read: CrmModuleRead, crm_ids: list[str]) -> None:
    """Records found deleted in the CRM (a re-sync, a notification): the same rules as the deletions phase."""
    with transaction.atomic():
        for adapter in _adapters(read):
            plan_and_apply(ctx.adapter_run(adapter), crm_ids, cursor=None)


def plan_and_apply(scope: AdapterRun, crm_ids: list[str], *, cursor: dict | None) -> Counts:
    adapter = scope.adapter
    links = {link.crm_id: link for link in RecordLink.objects.filter(
        connection=scope.connection, crm_module=adapter.crm_module, erp_model=adapter.erp_model,
        crm_id__in=crm_ids, crm_deleted_at__isnull=True)}
    ids = [link.erp_id for link in links.values()]
    existing = {(adapter.erp_model, pk) for pk in adapter.queryset(scope.organization).filter(pk__in=ids)
                .values_list("pk", flat=True)}
    with_transactions = {(adapter.erp_model, pk) for pk in adapter.with_transactions(ids)}
    actions = planner.plan_deletions(crm_ids, links={k: link_state(v) for k, v in links.items()},
                                     existing=existing, with_transactions=with_transactions)
    return apply_deletions(scope, actions, cursor=cursor)


def apply_deletions(scope: AdapterRun, actions: list[Action], *, cursor: dict | None) -> Counts:
    """Deleted in the CRM: see planner.plan_deletions. One transaction per page of deletions."""
    now = timezone.now()
    counts = Counts(done=len(actions))
    adapter = scope.adapter
    doomed = [a.erp_id for a in actions if a.kind == Kind.DELETE]
    tombstones = [a.retire.link_id for a in actions if a.kind == Kind.UNLINK and a.issues]
    gone = [a.retire.link_id for a in actions if a.kind == Kind.DELETE or (a.kind == Kind.UNLINK and not a.issues)]
    RecordLink.objects.filter(pk__in=gone).delete()
    RecordLink.objects.filter(pk__in=tombstones).update(crm_deleted_at=now)
    mark_linked(adapter.model, [a.erp_id for a in actions if a.kind == Kind.UNLINK], False)
    inactive = [a.erp_id for a in actions if a.deactivate]
    if inactive and hasattr(adapter.model, "is_active"):
        adapter.model.objects.filter(pk__in=inactive).update(is_active=False, updated_at=now)
    if adapter.erp_model == ErpModel.CUSTOMER:
        delete_customers(scope, doomed)
    elif doomed:
        adapter.model.objects.filter(pk__in=doomed).delete()
    counts.deleted = len(doomed)
    SyncIssue.objects.bulk_create([issue_for(scope, action, issue) for action in actions for issue in action.issues])
    record_progress(scope, counts, cursor=cursor, now=now)
    return counts


def retire_links(scope: AdapterRun, retired: list[tuple[LinkState, bool]], *, now) -> None:
    """Links a CRM record leaves. When it became another kind of ERP record (a contact that found or lost
    its account) the old ERP record goes if it came from the CRM and has no transactions, else it stays,
    inactive and unlinked; a stale link (its ERP record is gone or left the module) just goes."""
    if not retired:
        return
    by_model = {ErpModel.CUSTOMER: CONTACTS, ErpModel.CONTACT_PERSON: CONTACT_PERSONS}
    RecordLink.objects.filter(pk__in=[link.link_id for link, _ in retired if link.link_id]).delete()
    mark_linked(Customer, [link.erp_id for link, _ in retired if link.erp_model == ErpModel.CUSTOMER], False)
    for model_name in {link.erp_model for link, record in retired if record}:
        adapter = by_model[model_name]
        ids = [link.erp_id for link, record in retired
               if record and link.erp_model == model_name and link.origin == "crm"]
        keep = adapter.with_transactions(ids)
        doomed = [pk for pk in ids if pk not in keep]
        if model_name == ErpModel.CUSTOMER:
            delete_customers(scope, doomed)
            Customer.objects.filter(pk__in=keep).update(is_active=False, crm_linked=False, updated_at=now)
        elif doomed:
            adapter.model.objects.filter(pk__in=doomed).delete()


def delete_customers(scope: AdapterRun, ids: list[int]) -> None:
    """Customers and, with them, their contact persons' links."""
    if not ids:
        return
    persons = list(ContactPerson.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    RecordLink.objects.filter(connection=scope.connection, erp_model=ErpModel.CONTACT_PERSON,
                              erp_id__in=persons).delete()
    Customer.objects.filter(pk__in=ids).delete()
