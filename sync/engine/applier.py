"""Writing plans: one page of actions in one database transaction, with bulk writes.

`apply_page` writes the actions, the run's counters and the module's cursor together, so a crash loses
at most the page in flight and replaying it is harmless (the plan of a replay is all no-ops). A record
the database refuses becomes a SyncIssue and the rest of the page is still written.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from .. import failures
from ..flags import mark_linked
from ..models import IssueKind, RecordLink, SyncIssue
from . import planner, timeline
from .bulk import CopyRows, ReservedIds, insert_rows, new_object, reserve_ids, update_rows
from .context import AdapterRun
from .deletions import retire_links
from .loading import PageRows
from .mapping import write_erp_changes
from .owners import follow_owner
from .planner import Action, Kind, LinkState, PlanInput
from .progress import Counts, issue_for, record_progress

log = logging.getLogger("sync")
PENDING_PUSH_OFFSET = datetime.timedelta(milliseconds=1)


def _validation_message(error: ValidationError, model) -> str:
    """The ERP's refusal in its own words, fields named as people call them ("Display name: …")."""
    if not hasattr(error, "message_dict"):
        return " ".join(error.messages)

    def label(name: str) -> str:
        try:
            return str(model._meta.get_field(name).verbose_name).capitalize()
        except Exception:  # noqa: BLE001 - not a field (the form-wide errors)
            return ""

    return "; ".join(f"{label(name)}: {' '.join(messages)}" if label(name) else " ".join(messages)
                     for name, messages in error.message_dict.items())


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


@dataclass
class _Sorted:
    """A page's actions as the writes need them."""

    counts: Counts
    now: object = None  # what the page's rows are stamped with
    issues: list[SyncIssue] = field(default_factory=list)
    prepared: list[_Prepared] = field(default_factory=list)
    retired: list[tuple[LinkState, bool]] = field(default_factory=list)


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
    scope: AdapterRun, data: PlanInput, rows: PageRows, actions: list[Action], *,
    cursor: dict | None = None, progress: int = 0, deferred_push: bool = True, report: bool = True,
) -> Counts:
    """Write one page's plan; call inside the transaction that loaded it. `cursor` (the module config's
    whole crm_cursor) is saved with the page; `deferred_push` says that ERP-side changes found here are
    pushed later by the push step (a fetch) rather than already sent (a push). With `report=False` the
    caller writes the counts (and cursor) with record_progress itself, in the same transaction."""
    now = timezone.now()
    page = _sort(scope, rows, actions, Counts(done=progress), now=now, deferred_push=deferred_push)
    return write_sorted(scope, data, page, cursor=cursor, report=report)


def sort_page(scope: AdapterRun, rows: PageRows, actions: list[Action], *, progress: int = 0) -> _Sorted:
    """apply_page's first half, with no database writes (a fetch's): each action counted, or its ERP object
    prepared and validated, or its issue made. `write_sorted` writes the result."""
    return _sort(scope, rows, actions, Counts(done=progress), now=timezone.now(), deferred_push=True)


def touches_existing(page: _Sorted) -> bool:
    """Whether writing the page changes rows that exist (an update, a link, a link retired), rather than
    only adding rows: a page that only adds can be written while the next one is planned."""
    return bool(page.retired) or any(item.action.kind != Kind.CREATE or not item.new_link for item in page.prepared)


def stage_adds(scope: AdapterRun, page: _Sorted, ids: ReservedIds) -> list[CopyRows]:
    """The COPY data of a page that only adds (see touches_existing), made here and sent with
    `write_staged` (by the pipeline's writer): primary keys taken from `ids`, links given their records'."""
    items = page.prepared
    if not items:
        return []
    model = scope.adapter.model
    object_ids, link_ids = ids.take([(model, len(items)), (RecordLink, len(items))])
    # Rows in the order of the indexes they enter most (records by name, links by CRM id): each index page
    # is then reached once per page of rows rather than once per row.
    objects = CopyRows(model, sorted((item.obj for item in items), key=_by_name), now=page.now, ids=object_ids)
    for item in items:
        item.link.erp_id = item.obj.pk
    links = CopyRows(RecordLink, sorted((item.link for item in items), key=attrgetter("crm_id")), now=page.now,
                     ids=link_ids)
    page.counts.added += len(items)
    return [objects, links]


def _by_name(obj) -> str:
    return getattr(obj, "display_name", None) or getattr(obj, "name", None) or ""


def write_staged(page: _Sorted, staged: list[CopyRows]) -> Counts:
    """Write a staged page (in the caller's transaction): its rows, links and issues."""
    for rows in staged:
        rows.send()
    SyncIssue.objects.bulk_create(page.issues, batch_size=500)
    return page.counts


def write_sorted(scope: AdapterRun, data: PlanInput, page: _Sorted, *, cursor: dict | None = None,
                 report: bool = True) -> Counts:
    """apply_page's second half: the page's writes, in the caller's transaction."""
    now = page.now
    retire_links(scope, page.retired, now=now)
    page.counts.add(_write_all(scope, page, now))
    if page.retired:  # a record may have left one link for another in this page: the flag follows the new one
        mark_linked(scope.adapter.model, [item.obj.pk for item in page.prepared if item.obj.pk is not None], True)
    SyncIssue.objects.bulk_create(page.issues, batch_size=500)
    timeline.write([entry for item in page.prepared if item.obj.pk is not None
                    for entry in timeline.fetched(scope, data, item.action)])
    if report:
        record_progress(scope, page.counts, cursor=cursor, now=now)
    return page.counts


def _sort(scope: AdapterRun, rows: PageRows, actions: list[Action], counts: Counts, *, now,
          deferred_push: bool) -> _Sorted:
    """Count what is not written, prepare what is, and collect the issues and the links records leave."""
    page = _Sorted(counts=counts, now=now)
    for action in actions:
        if action.kind == Kind.NOOP:
            continue
        if action.kind in (Kind.ERROR, Kind.SKIP):
            if action.kind == Kind.ERROR:
                counts.failed += 1
            else:
                counts.skipped += 1
            page.issues += [issue_for(scope, action, issue) for issue in action.issues]
            if action.kind == Kind.SKIP and action.retire is not None:
                page.retired.append((action.retire, action.retire_record))
            continue
        item = prepare(scope, rows, action, now, deferred_push)
        if isinstance(item, SyncIssue):
            counts.failed += 1
            page.issues.append(item)
            continue
        if action.retire is not None:
            page.retired.append((action.retire, action.retire_record))
        page.prepared.append(item)
        if action.issues:
            counts.conflicts += sum(1 for issue in action.issues if issue.kind == "conflict")
            page.issues += [issue_for(scope, action, issue) for issue in action.issues]
    return page


def _write_all(scope: AdapterRun, page: _Sorted, now) -> Counts:
    try:
        with transaction.atomic():
            return _write(scope, page.prepared, now)
    except DatabaseError as error:
        # One record the database refuses (a race with a person editing, a value the checks missed)
        # must not sink the page: write the records one by one and report the ones that fail.
        log.warning("page write failed (%s); writing record by record", error)
    written = Counts()
    for item in page.prepared:
        item.unsaved()
        try:
            with transaction.atomic():
                written.add(_write(scope, [item], now))
        except DatabaseError as record_error:
            item.unsaved()
            written.failed += 1
            record = f"{scope.adapter.crm_module} {item.action.crm_id}"
            message = failures.database_refused(record_error,
                                                f"run {scope.run.pk}: the database refused {record}")
            page.issues.append(issue_for(scope, item.action,
                                         planner.Issue(kind=IssueKind.ERROR, message=message)))
    return written


def prepare(scope: AdapterRun, rows: PageRows, action: Action, now, deferred_push: bool):
    """An action's ERP object with its changes set and validated (not saved), and its link; or the SyncIssue
    of a record the ERP refuses."""
    adapter = scope.adapter
    creating = action.kind == Kind.CREATE
    obj = adapter.new(scope.organization) if creating else rows.objects[action.erp_id]
    fields = _apply_changes(scope, rows, action, obj, creating)
    if fields or creating:
        try:
            adapter.validate(obj)
        except ValidationError as error:
            return issue_for(scope, action, planner.Issue(
                kind=IssueKind.ERROR, message=f"The ERP refused the record: {_validation_message(error, adapter.model)}"))
    link = rows.links.get(action.crm_id)
    if link is None or link.erp_model != adapter.erp_model or action.retire is not None:
        link = new_object(RecordLink, connection_id=scope.config.connection_id, crm_module=adapter.crm_module,
                          crm_id=action.crm_id, erp_model=adapter.erp_model, erp_id=action.erp_id or 0,
                          origin="crm" if creating else "erp", linked_at=now)
    pending = deferred_push and bool(action.push)
    link.synced_snapshot = _stored_snapshot(action, pending)
    link.crm_modified_time = action.modified or link.crm_modified_time
    link.crm_deleted_at = None
    if not pending or link.pk is None:
        link.last_synced_at = now
    # A new link whose ERP values win (items both ways): the push step must find the record edited after
    # its sync (the link is stamped `now`), as it finds a linked record changed here.
    new_pending = pending and link.pk is None
    if new_pending or fields - {"crm_linked"}:
        fields.add("updated_at")
        obj.updated_at = now + PENDING_PUSH_OFFSET if new_pending else now
    return _Prepared(action=action, obj=obj, fields=fields, link=link, new_link=link.pk is None)


def _apply_changes(scope: AdapterRun, rows: PageRows, action: Action, obj, creating: bool) -> set[str]:
    """Set the action's changes on the ERP object (not saved); returns the model fields it changed."""
    fields = write_erp_changes(scope.by_name, obj, action.erp_changes, plain=scope.plain_fields)
    if action.parent_id is not None and obj.customer_id != action.parent_id:
        obj.customer_id = action.parent_id
        obj.is_primary = action.make_primary
        fields |= {"customer", "is_primary"}
    if hasattr(obj, "owner_id") and planner.OWNER_KEY in action.snapshot:
        follow_owner(owners=scope.owners, link=rows.links.get(action.crm_id), erp_model=scope.adapter.erp_model,
                     action=action, obj=obj, fields=fields, creating=creating)
    if hasattr(obj, "crm_linked") and not obj.crm_linked:
        # What the "CRM Customers/Vendors" views filter on, set with the link rather than by a sweep
        # after the run: a first sync would otherwise write every new row twice.
        obj.crm_linked = True
        if not creating:
            fields.add("crm_linked")
    before = getattr(obj, "display_name", None)
    scope.adapter.derive(obj)
    if getattr(obj, "display_name", None) != before:
        fields.add("display_name")
    return fields


def _reserve(model, objects: int, links: int) -> tuple[list[int] | None, list[int] | None]:
    """The new rows' primary keys in one round trip, where the database has sequences (PostgreSQL)."""
    if db_connection.vendor != "postgresql" or not (objects or links):
        return None, None
    object_ids, link_ids = reserve_ids([(model, objects), (RecordLink, links)])
    return object_ids or None, link_ids or None


def _write(scope: AdapterRun, items: list[_Prepared], now) -> Counts:
    counts = Counts()
    model = scope.adapter.model
    new = [item for item in items if item.obj.pk is None]
    changed = [item for item in items if item.obj.pk is not None and item.fields]
    new_links = [item.link for item in items if item.link.pk is None]
    object_ids, link_ids = _reserve(model, len(new), len(new_links))
    if new:
        insert_rows(model, [item.obj for item in new], now=now, ids=object_ids)
        counts.added += len(new)
    if changed:
        fields = sorted(set().union(*(item.fields for item in changed)))
        update_rows(model, [item.obj for item in changed], fields)
    counts.updated += sum(1 for item in changed if item.action.kind != Kind.LINK and item.fields != {"crm_linked"})
    counts.updated += sum(1 for item in items if item.action.kind == Kind.LINK)
    for item in items:
        item.link.erp_id = item.obj.pk
    old_links = [item.link for item in items if item.link.pk is not None]
    if new_links:
        insert_rows(RecordLink, new_links, now=now, ids=link_ids)
    if old_links:
        update_rows(RecordLink, old_links, ["synced_snapshot", "crm_modified_time", "last_synced_at", "crm_deleted_at"])
    return counts
