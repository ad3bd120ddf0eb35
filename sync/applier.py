"""Writing plans: one page of actions in one database transaction, with bulk reads and writes.

`load_page` reads what the planner needs for a page (links, ERP rows, duplicate candidates, SKUs in
use, parent customers) in a handful of queries; `apply_page` writes the actions, the run's counters
and the module's cursor together, so a crash loses at most the page in flight and replaying it is
harmless (the plan of a replay is all no-ops). A record the database refuses becomes a SyncIssue and
the rest of the page is still written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import F, JSONField, Subquery
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from customers.models import ContactPerson, Customer
from integration.models import ModuleConfig
from items.models import Item
from vendors.models import Vendor

from . import planner
from .adapters import CONTACT_PERSONS, CONTACTS, Adapter, linked_subquery
from .mapping import FieldSpec, model_field_name, read_erp, write_erp
from .models import IssueKind, RecordLink, SyncIssue, SyncRun
from .planner import Action, ErpRow, Incoming, Kind, LinkState, PlanInput

log = logging.getLogger("sync")


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    conflicts: int = 0
    pushed: int = 0
    done: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Scope:
    """What every page of a run shares."""

    run: SyncRun
    config: ModuleConfig
    adapter: Adapter
    specs: list[FieldSpec]
    # Asked (once per run, by the first page with records new to the ERP) whether the ERP holds records of
    # this kind without a link. When it does not, no duplicate can turn up and pages skip that query:
    # what a first sync into an empty ERP, and most later ones, can count on.
    may_have_duplicates: Callable[[], bool] | None = None
    client: object | None = None  # the run's CrmClient: its call and retry counts go with the progress
    # CRM user id -> ERP user id, for the users the connection matched by email: record owners.
    owners: dict[str, int] = field(default_factory=dict)

    @property
    def connection(self):
        return self.config.connection

    @cached_property
    def by_name(self) -> dict[str, FieldSpec]:
        return {spec.erp_field: spec for spec in self.specs}

    @property
    def organization(self):
        return self.config.connection.organization


@dataclass
class Loaded:
    """The database rows behind a PlanInput, kept to write the plan."""

    links: dict[str, RecordLink] = field(default_factory=dict)
    objects: dict[int, object] = field(default_factory=dict)


def link_state(link: RecordLink) -> LinkState:
    return LinkState(erp_model=link.erp_model, erp_id=link.erp_id, origin=link.origin,
                     snapshot=dict(link.synced_snapshot or {}), link_id=link.pk)


def erp_row(scope: Scope, obj) -> ErpRow:
    return ErpRow(
        erp_id=obj.pk, values={spec.erp_field: read_erp(spec, obj) for spec in scope.specs},
        parent_id=getattr(obj, "customer_id", None), is_primary=getattr(obj, "is_primary", False),
        label=scope.adapter.label(obj),
    )


def parents_for(*, connection, account_ids: set[str]) -> dict[str, int]:
    """CRM account id -> the ERP customer it is linked to (live links only)."""
    if not account_ids:
        return {}
    return dict(RecordLink.objects.filter(
        connection=connection, crm_module="Accounts", erp_model="customer", crm_id__in=account_ids,
        crm_deleted_at__isnull=True,
    ).values_list("crm_id", "erp_id"))


def load_page(scope: Scope, incoming: list[Incoming]) -> tuple[PlanInput, Loaded]:
    adapter, connection = scope.adapter, scope.connection
    loaded = Loaded()
    ids = [record.crm_id for record in incoming]
    for link in RecordLink.objects.filter(connection=connection, crm_module=adapter.crm_module, crm_id__in=ids):
        loaded.links[link.crm_id] = link
    mine = [link.erp_id for link in loaded.links.values() if link.erp_model == adapter.erp_model]
    queryset = adapter.queryset(scope.organization)
    loaded.objects = queryset.in_bulk(mine) if mine else {}
    data = PlanInput(
        specs=scope.specs, erp_model=adapter.erp_model, crm_wins=adapter.crm_wins, incoming=incoming,
        links={crm_id: link_state(link) for crm_id, link in loaded.links.items()},
        rows={pk: erp_row(scope, obj) for pk, obj in loaded.objects.items()},
        duplicate_field=adapter.duplicate_field(scope.config), duplicate_action=scope.config.duplicate_action,
        unique_field=adapter.unique_field, has_parent=adapter.has_parent,
    )
    unlinked = [record for record in incoming if record.crm_id not in loaded.links and not record.errors]
    refs = {record.erp_ref for record in unlinked if record.erp_ref}
    if refs:
        for obj in queryset.filter(pk__in=refs).exclude(linked_subquery(connection=connection, adapter=adapter)):
            loaded.objects[obj.pk] = obj
            data.rows[obj.pk] = erp_row(scope, obj)
            data.own.add(obj.pk)
    if data.duplicate_field and unlinked and (scope.may_have_duplicates is None or scope.may_have_duplicates()):
        keys = {str(record.values.get(data.duplicate_field) or "").strip().lower() for record in unlinked} - {""}
        if keys:
            found = (queryset.annotate(_key=Lower(Trim(data.duplicate_field))).filter(_key__in=keys)
                     .exclude(linked_subquery(connection=connection, adapter=adapter)).order_by("pk"))
            for obj in found:
                loaded.objects[obj.pk] = obj
                data.rows[obj.pk] = erp_row(scope, obj)
                data.candidates.setdefault(planner.normalise(getattr(obj, data.duplicate_field)), []).append(obj.pk)
    if data.unique_field:
        values = {record.values.get(data.unique_field) for record in incoming} - {None, ""}
        if values:
            for obj in queryset.filter(**{f"{data.unique_field}__in": values}):
                data.unique_taken[getattr(obj, data.unique_field)] = obj.pk
                if obj.pk not in data.rows:  # named in the message when a CRM record wants its value
                    loaded.objects[obj.pk] = obj
                    data.rows[obj.pk] = erp_row(scope, obj)
    if adapter.has_parent:
        parent_ids = {record.parent_erp_id for record in incoming if record.parent_erp_id}
        data.parents_with_primary = set(ContactPerson.objects.filter(
            customer_id__in=parent_ids, is_primary=True).values_list("customer_id", flat=True))
    return data, loaded


# --- writing ------------------------------------------------------------------------------------------------


def _shown(value) -> str:
    """A value as an issue keeps it: text, at most 2,000 characters, NUL spelled out (PostgreSQL refuses it)."""
    return "" if value is None else str(value)[:2000].replace("\x00", "\\x00")


def _issue(scope: Scope, action: Action, issue: planner.Issue, erp_model: str | None = None) -> SyncIssue:
    return SyncIssue(
        run=scope.run, kind=issue.kind, crm_module=scope.adapter.crm_module, crm_id=action.crm_id or "",
        erp_model=erp_model or (scope.adapter.erp_model if action.erp_id else ""), erp_id=action.erp_id,
        field=issue.field[:100], message=_shown(issue.message), crm_value=_shown(issue.crm_value),
        erp_value=_shown(issue.erp_value),
    )


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
    return " ".join(error.messages)


@dataclass
class _Prepared:
    action: Action
    obj: object
    fields: set[str]
    link: RecordLink
    new_link: bool = False

    def unsaved(self) -> None:
        """Forget primary keys a rolled-back write handed out, so that writing again inserts."""
        if self.action.kind == Kind.CREATE:
            self.obj.pk = None
            self.obj._state.adding = True
        if self.new_link:
            self.link.pk = None
            self.link._state.adding = True


def _stored_snapshot(action: Action, deferred_push: bool) -> dict:
    """A fetch leaves fields the ERP must still push at their base value: the push step sees them changed."""
    snapshot = dict(action.snapshot)
    if deferred_push:
        for name in action.push:
            if name in action.base:
                snapshot[name] = action.base[name]
            else:
                snapshot.pop(name, None)
    return snapshot


def apply_page(
    scope: Scope, data: PlanInput, loaded: Loaded, actions: list[Action], *,
    cursor: dict | None = None, progress: int = 0, deferred_push: bool = True, report: bool = True,
) -> Counts:
    """Write one page's plan; call inside the transaction that loaded it. `cursor` (the module config's
    whole crm_cursor) is saved with the page; `deferred_push` says that ERP-side changes found here are
    pushed later by the push step (a fetch) rather than already sent (a push). With `report=False` the
    caller writes the counts (and cursor) with record_progress itself, in the same transaction."""
    now = timezone.now()
    counts = Counts(done=progress)
    issues: list[SyncIssue] = []
    prepared: list[_Prepared] = []
    retired: list[tuple[LinkState, bool]] = []
    for action in actions:
        if action.kind == Kind.ERROR:
            counts.failed += 1
            issues += [_issue(scope, action, issue) for issue in action.issues]
            continue
        if action.kind == Kind.SKIP:
            counts.skipped += 1
            issues += [_issue(scope, action, issue) for issue in action.issues]
            if action.retire is not None:
                retired.append((action.retire, action.retire_record))
            continue
        if action.kind == Kind.NOOP:
            continue
        item = _prepare(scope, loaded, action, now, deferred_push)
        if isinstance(item, SyncIssue):
            counts.failed += 1
            issues.append(item)
            continue
        if action.retire is not None:
            retired.append((action.retire, action.retire_record))
        prepared.append(item)
        counts.conflicts += sum(1 for issue in action.issues if issue.kind == "conflict")
        issues += [_issue(scope, action, issue) for issue in action.issues]

    retire_links(scope, retired, now=now)
    try:
        with transaction.atomic():
            written = _write(scope, prepared, now)
    except DatabaseError as error:
        # One record the database refuses (a race with a person editing, a value the checks missed)
        # must not sink the page: write the records one by one and report the ones that fail.
        log.warning("page write failed (%s); writing record by record", error)
        written = Counts()
        for item in prepared:
            item.unsaved()
            try:
                with transaction.atomic():
                    written.add(_write(scope, [item], now))
            except DatabaseError as record_error:
                item.unsaved()
                written.failed += 1
                issues.append(_issue(scope, item.action, planner.Issue(
                    kind=IssueKind.ERROR, message=f"The database refused the record: {record_error}"[:2000])))
    counts.add(written)
    if retired:  # a record may have left one link for another in this page: the flag follows the new one
        mark_linked(scope.adapter.model, [item.obj.pk for item in prepared if item.obj.pk is not None], True)
    SyncIssue.objects.bulk_create(issues, batch_size=500)
    if report:
        record_progress(scope, counts, cursor=cursor, now=now)
    return counts


def _prepare(scope: Scope, loaded: Loaded, action: Action, now, deferred_push: bool):
    adapter = scope.adapter
    creating = action.kind == Kind.CREATE
    obj = adapter.new(scope.organization) if creating else loaded.objects[action.erp_id]
    by_name = scope.by_name
    fields: set[str] = set()
    for name, value in action.erp_changes.items():
        write_erp(by_name[name], obj, value)
        fields.add(model_field_name(by_name[name]))
    if action.parent_id is not None:
        if obj.customer_id != action.parent_id:
            obj.customer_id = action.parent_id
            fields.add("customer")
            obj.is_primary = action.make_primary
            fields.add("is_primary")
    if hasattr(obj, "owner_id") and planner.OWNER_KEY in action.snapshot:
        _follow_owner(scope, loaded, action, obj, fields, creating)
    if hasattr(obj, "crm_linked") and not obj.crm_linked:
        # What the "CRM Customers/Vendors" views filter on, set with the link rather than by a sweep
        # after the run: a first sync would otherwise write every new row twice.
        obj.crm_linked = True
        if not creating:
            fields.add("crm_linked")
    before = getattr(obj, "display_name", None)
    adapter.derive(obj)
    if getattr(obj, "display_name", None) != before:
        fields.add("display_name")
    if fields or creating:
        try:
            adapter.validate(obj)
        except ValidationError as error:
            return _issue(scope, action, planner.Issue(kind=IssueKind.ERROR,
                                                       message=f"The ERP refused the record: {_validation_message(error)}"))
    link = loaded.links.get(action.crm_id)
    if link is None or link.erp_model != adapter.erp_model or action.retire is not None:
        link = RecordLink(connection_id=scope.config.connection_id, crm_module=adapter.crm_module, crm_id=action.crm_id,
                          erp_model=adapter.erp_model, erp_id=action.erp_id or 0,
                          origin="crm" if creating else "erp")
    pending = deferred_push and bool(action.push)
    link.synced_snapshot = _stored_snapshot(action, pending)
    link.crm_modified_time = action.modified or link.crm_modified_time
    link.crm_deleted_at = None
    if not pending or link.pk is None:
        link.last_synced_at = now
    if fields - {"crm_linked"}:
        fields.add("updated_at")
        obj.updated_at = now
    return _Prepared(action=action, obj=obj, fields=fields, link=link, new_link=link.pk is None)


def _follow_owner(scope: Scope, loaded: Loaded, action: Action, obj, fields: set[str], creating: bool) -> None:
    """The CRM record's Owner, when it changed there (or the record is new here), becomes the ERP record's
    owner: the ERP user with the CRM user's email, or nobody when the CRM user has no ERP account. An ERP
    record linked for the first time keeps its owner unless the CRM's owner has an account here."""
    crm_owner = action.snapshot[planner.OWNER_KEY]
    link = loaded.links.get(action.crm_id)
    first_link = link is None or link.erp_model != scope.adapter.erp_model
    if not creating and not first_link and (link.synced_snapshot or {}).get(planner.OWNER_KEY) == crm_owner:
        return  # unchanged in the CRM: the ERP's owner stands (a change made here is pushed, not undone)
    owner = scope.owners.get(crm_owner) if crm_owner else None
    if owner is None and first_link and not creating:
        return
    if obj.owner_id != owner:
        obj.owner_id = owner
        fields.add("owner")


def _write(scope: Scope, items: list[_Prepared], now) -> Counts:
    counts = Counts()
    model = scope.adapter.model
    new = [item for item in items if item.obj.pk is None]
    changed = [item for item in items if item.obj.pk is not None and item.fields]
    if new:
        insert_rows(model, [item.obj for item in new], now=now)
        counts.added += len(new)
    if changed:
        fields = sorted(set().union(*(item.fields for item in changed)))
        update_rows(model, [item.obj for item in changed], fields)
    counts.updated += sum(1 for item in changed if item.action.kind != Kind.LINK and item.fields != {"crm_linked"})
    counts.updated += sum(1 for item in items if item.action.kind == Kind.LINK)
    for item in items:
        item.link.erp_id = item.obj.pk
    new_links = [item.link for item in items if item.link.pk is None]
    old_links = [item.link for item in items if item.link.pk is not None]
    if new_links:
        insert_rows(RecordLink, new_links, now=now)
    if old_links:
        update_rows(RecordLink, old_links, ["synced_snapshot", "crm_modified_time", "last_synced_at", "crm_deleted_at"])
    return counts


def update_rows(model, objects: list, names: list[str]) -> None:
    """bulk_update without its CASE expressions, whose building costs milliseconds per row in Python: one
    parametrised UPDATE per row, sent together (psycopg pipelines them). Fields are set as they are on
    the objects; auto_now is not applied (the callers stamp updated_at themselves)."""
    if not objects:
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    quote = db_connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), db_connection) for field in fields] + [obj.pk]
            for obj in objects]
    with db_connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def insert_rows(model, objects: list, *, now) -> None:
    """bulk_create, and on PostgreSQL the same through COPY: a first sync inserts hundreds of thousands of
    rows, and building them as parameter arrays costs more Python time than the database spends storing
    them. Primary keys are taken from the table's sequence first, so the objects have them afterwards."""
    if not objects:
        return
    if db_connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=500)
        return
    meta = model._meta
    fields = list(meta.concrete_fields)
    stamped = [f.attname for f in fields if getattr(f, "auto_now", False)]
    created = [f.attname for f in fields if getattr(f, "auto_now_add", False)]
    for obj in objects:
        for name in stamped:
            setattr(obj, name, now)
        for name in created:
            if getattr(obj, name) is None:
                setattr(obj, name, now)
    try:
        _copy_rows(meta, fields, objects)
    except DatabaseError:
        for obj in objects:
            obj.pk = None  # not saved: a retry inserts them afresh
        raise
    for obj in objects:
        obj._state.adding = False
        obj._state.db = db_connection.alias


def _copy_rows(meta, fields: list, objects: list) -> None:
    from psycopg.types.json import Jsonb

    with db_connection.wrap_database_errors, db_connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(objects)])
        for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(db_connection.ops.quote_name(f.column) for f in fields)
        values_of = attrgetter(*(f.attname for f in fields))
        json_columns = [n for n, f in enumerate(fields) if isinstance(f, JSONField)]
        with cursor.cursor.copy(f"COPY {db_connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                row = list(values_of(obj))
                for n in json_columns:
                    if row[n] is not None:
                        row[n] = Jsonb(row[n])
                copy.write_row(row)


def record_progress(scope: Scope, counts: Counts, *, cursor: dict | None, now=None) -> None:
    """The run's counters, its heartbeat and the module's cursor: written with the page they describe."""
    now = now or timezone.now()
    changes = {name: F(name) + getattr(counts, name)
               for name in ("added", "updated", "deleted", "skipped", "failed", "conflicts", "pushed")
               if getattr(counts, name)}
    if counts.done:
        changes["progress_done"] = F("progress_done") + counts.done
    if scope.client is not None:
        changes.update(api_calls=scope.client.calls, retries=scope.client.retries)
    SyncRun.objects.filter(pk=scope.run.pk).update(heartbeat_at=now, **changes)
    if cursor is not None:
        ModuleConfig.objects.filter(pk=scope.config.pk).update(crm_cursor=cursor)
        scope.config.crm_cursor = cursor


# --- leaving links: records that changed kind, stale links, deletions ----------------------------------------


def retire_links(scope: Scope, retired: list[tuple[LinkState, bool]], *, now) -> None:
    """Links a CRM record leaves. When it became another kind of ERP record (a contact that found or lost
    its account) the old ERP record goes if it came from the CRM and has no transactions, else it stays,
    inactive and unlinked; a stale link (its ERP record is gone or left the module) just goes."""
    if not retired:
        return
    by_model = {"customer": CONTACTS, "contact_person": CONTACT_PERSONS}
    RecordLink.objects.filter(pk__in=[link.link_id for link, _ in retired if link.link_id]).delete()
    mark_linked(Customer, [link.erp_id for link, _ in retired if link.erp_model == "customer"], False)
    for model_name in {link.erp_model for link, record in retired if record}:
        adapter = by_model[model_name]
        ids = [link.erp_id for link, record in retired
               if record and link.erp_model == model_name and link.origin == "crm"]
        keep = adapter.with_transactions(ids)
        doomed = [pk for pk in ids if pk not in keep]
        if model_name == "customer":
            _delete_customers(scope, doomed)
            Customer.objects.filter(pk__in=keep).update(is_active=False, crm_linked=False, updated_at=now)
        elif doomed:
            adapter.model.objects.filter(pk__in=doomed).delete()


def _delete_customers(scope: Scope, ids: list[int]) -> None:
    if not ids:
        return
    persons = list(ContactPerson.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    RecordLink.objects.filter(connection=scope.connection, erp_model="contact_person", erp_id__in=persons).delete()
    Customer.objects.filter(pk__in=ids).delete()


def adopt_owners(*, connection, owners: dict[str, int]) -> int:
    """Records without an owner here whose CRM owner has just been matched to an ERP user (CRM user id ->
    ERP user id) get that user. Not an edit (updated_at stays): nothing goes back to the CRM."""
    changed = 0
    for erp_model, model in (("customer", Customer), ("vendor", Vendor), ("item", Item)):
        for crm_user, erp_user in owners.items():
            owned = RecordLink.objects.filter(
                connection=connection, erp_model=erp_model, crm_deleted_at__isnull=True,
                **{f"synced_snapshot__{planner.OWNER_KEY}": crm_user}).values("erp_id")
            changed += model.objects.filter(pk__in=Subquery(owned), owner__isnull=True).update(owner_id=erp_user)
    return changed


def mark_linked(model, ids, linked: bool) -> None:
    """The "CRM Customers/Vendors" flag of these rows, written with the links that decide it."""
    if ids and any(f.name == "crm_linked" for f in model._meta.fields):
        model.objects.filter(pk__in=list(ids)).exclude(crm_linked=linked).update(crm_linked=linked)


def apply_deletions(scope: Scope, actions: list[Action], *, cursor: dict | None) -> Counts:
    """Deleted in the CRM: see planner.plan_deletions. One transaction per page of deletions."""
    now = timezone.now()
    counts = Counts(done=len(actions))
    adapter = scope.adapter
    issues = []
    doomed = [a.erp_id for a in actions if a.kind == Kind.DELETE]
    tombstones = [a.retire.link_id for a in actions if a.kind == Kind.UNLINK and a.issues]
    gone = [a.retire.link_id for a in actions if a.kind == Kind.DELETE or (a.kind == Kind.UNLINK and not a.issues)]
    RecordLink.objects.filter(pk__in=gone).delete()
    RecordLink.objects.filter(pk__in=tombstones).update(crm_deleted_at=now)
    mark_linked(adapter.model, [a.erp_id for a in actions if a.kind == Kind.UNLINK], False)
    inactive = [a.erp_id for a in actions if a.deactivate]
    if inactive and hasattr(adapter.model, "is_active"):
        adapter.model.objects.filter(pk__in=inactive).update(is_active=False, updated_at=now)
    if adapter.erp_model == "customer":
        _delete_customers(scope, doomed)
    elif doomed:
        adapter.model.objects.filter(pk__in=doomed).delete()
    counts.deleted = len(doomed)
    for action in actions:
        issues += [_issue(scope, action, issue) for issue in action.issues]
    SyncIssue.objects.bulk_create(issues)
    record_progress(scope, counts, cursor=cursor, now=now)
    return counts


def plan_and_apply_deletions(scope: Scope, crm_ids: list[str], *, cursor: dict | None) -> Counts:
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
