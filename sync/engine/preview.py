"""A dry run: what a module's first sync would do, worked out by the same routing, conversion, loading
and planner, without writing anything (no ERP record, link, cursor or CRM record changes).

The CRM records the configuration selects are read page by page (sorted, past the 100,000-record window
by new chains from the last time seen; a view in one chain). What a page would link or create is
remembered for the pages after it, as a run would have written it: ERP records claimed by a link are not
candidates again, and accounts to be made stand in as parents of their contacts. Both ways, the ERP
records still without a CRM twin at the end are those the first sync would push. The records it would
create are then compared with the unlinked ERP records for possible duplicates (`sync.fuzzy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from .. import fuzzy
from ..models import SyncIssue
from .adapters import ACCOUNTS, Adapter, CrmModuleRead, linked_subquery, push_adapters_for, reads_for
from .applier import prepare
from .context import RunContext
from .cursor import ONE_SECOND, latest_time
from .fetch import CHAIN_CEILING
from .incoming import converter, route
from .loading import load_page
from .planner import Kind, duplicate_text, plan

SAMPLE = 50  # records listed per kind
KINDS = ("create", "link_erp_id", "link_suggestion", "link_duplicate", "clone", "skip", "error", "update",
         "unchanged", "push")
HOW = {"erp id": "link_erp_id", "suggestion": "link_suggestion", "duplicate rule": "link_duplicate"}


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    samples: dict[str, list[dict]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def add(self, kind: str, **sample) -> None:
        self.counts[kind] += 1
        if len(self.samples[kind]) < SAMPLE:
            self.samples[kind].append(sample)


@dataclass
class _State:
    tally: Tally = field(default_factory=Tally)
    claimed: dict[str, set[int]] = field(default_factory=dict)  # ERP model -> ids a link would take
    planned_parents: dict[str, int] = field(default_factory=dict)  # CRM account id -> ERP id or a stand-in
    new: dict[str, list[fuzzy.Party]] = field(default_factory=dict)  # adapter -> CRM records to be made
    read: int = 0


def preview(ctx: RunContext, *, progress=None) -> dict:
    """The first sync of `ctx.config`, planned and counted. `progress(done)` is told as pages go."""
    state = _State()
    for read in reads_for(ctx.config):
        for records in _pages(ctx, read):
            _page(ctx, read, records, state)
            state.read += len(records)
            if progress:
                progress(state.read)
    if ctx.config.syncs_both_ways:
        for adapter in push_adapters_for(ctx.config):
            for obj in _unlinked(ctx, adapter, state):
                state.tally.add("push", erp_id=obj.pk, label=adapter.label(obj), noun=adapter.noun)
    return {"records": state.read, "counts": state.tally.counts, "samples": state.tally.samples,
            "suggestions": _suggestions(ctx, state)}


def _pages(ctx: RunContext, read: CrmModuleRead):
    """Every record the configuration selects, a page at a time (each record once)."""
    fields = ctx.fetch_fields(read)
    seen: set[str] = set()
    since = None
    while True:
        latest, restart = None, False
        pages = ctx.client.iter_pages(read.crm_module, fields=fields, cvid=read.view_id or None,
                                      sort_by=None if read.view_id else "Modified_Time",
                                      sort_order=None if read.view_id else "asc", modified_since=since,
                                      window=None if read.view_id else CHAIN_CEILING)
        for page in pages:
            fresh = [r for r in page.records if str(r.get("id")) not in seen]
            seen.update(str(r.get("id")) for r in fresh)
            latest = latest_time(page.records) or latest
            if fresh:
                yield fresh
            restart = page.window_full
        if not restart or latest is None:
            return
        since = latest - ONE_SECOND


def _page(ctx: RunContext, read: CrmModuleRead, records: list[dict], state: _State) -> None:
    groups, parents = route(ctx, read, records, planned=state.planned_parents)
    for adapter, rows in groups.values():
        if not rows:
            continue
        scope = ctx.adapter_run(adapter)
        incoming = list(map(converter(ctx, adapter, parents), rows))
        data, rows = load_page(scope, incoming)
        claimed = state.claimed.setdefault(adapter.erp_model, set())
        data.own -= claimed
        data.candidates = {key: [i for i in ids if i not in claimed] for key, ids in data.candidates.items()}
        by_id = {record.crm_id: record for record in incoming}
        now = timezone.now()
        for action in plan(data):
            if action.kind in (Kind.CREATE, Kind.LINK, Kind.UPDATE):
                # What the ERP itself would refuse, found as the applier finds it (on objects never saved).
                prepared = prepare(scope, rows, action, now, True)
                if isinstance(prepared, SyncIssue):
                    action.kind, action.issues = Kind.ERROR, [prepared]
            _count(adapter, action, by_id[action.crm_id], data, state, claimed)


def _count(adapter: Adapter, action, record, data, state: _State, claimed: set[int]) -> None:
    label = duplicate_text(data, record.values) or _label(record.values) or record.crm_id
    sample = {"crm_id": action.crm_id, "label": label[:200], "noun": adapter.noun}
    if action.kind == Kind.CREATE:
        state.tally.add("clone" if action.how == "clone" else "create", **sample)
        state.new.setdefault(adapter.name, []).append(fuzzy.Party(
            key=action.crm_id, name=label, email=str(record.values.get("email") or ""),
            sku=str(record.values.get("sku") or ""), label=label))
        if adapter is ACCOUNTS:
            state.planned_parents[action.crm_id] = -len(state.planned_parents) - 1  # made by the run: a stand-in
    elif action.kind == Kind.LINK:
        claimed.add(action.erp_id)
        row = data.rows.get(action.erp_id)
        state.tally.add(HOW.get(action.how, "link_duplicate"), **sample, erp_id=action.erp_id,
                        erp_label=row.label if row else "")
        if adapter is ACCOUNTS:
            state.planned_parents[action.crm_id] = action.erp_id
    elif action.kind in (Kind.SKIP, Kind.ERROR):
        reason = "; ".join(issue.message for issue in action.issues)[:500]
        state.tally.add("skip" if action.kind == Kind.SKIP else "error", **sample, reason=reason)
    else:
        state.tally.add("unchanged" if action.kind == Kind.NOOP else "update", **sample)


def _unlinked(ctx: RunContext, adapter: Adapter, state: _State):
    """This adapter's ERP records with no link, none planned either (each query a page of ids at a time)."""
    queryset = adapter.queryset(ctx.connection.organization).exclude(
        linked_subquery(connection=ctx.connection, adapter=adapter)).order_by("pk")
    claimed = state.claimed.get(adapter.erp_model, set())
    return (obj for obj in queryset.iterator(chunk_size=2000) if obj.pk not in claimed)


def _suggestions(ctx: RunContext, state: _State) -> list[dict]:
    """Possible duplicates: CRM records to be made against the unlinked ERP records not planned either."""
    found = []
    for adapter in reads_for_adapters(ctx):
        crm = state.new.get(adapter.name) or []
        if not crm or adapter.duplicate_field(ctx.config) is None:
            continue
        erp = [fuzzy.Party(key=obj.pk, name=_erp_name(obj), email=getattr(obj, "email", "") or "",
                           sku=getattr(obj, "sku", "") or "", label=adapter.label(obj))
               for obj in _unlinked(ctx, adapter, state)]
        for suggestion in fuzzy.suggest(crm, erp):
            found.append({"adapter": adapter.name, "crm_module": adapter.crm_module, "erp_model": adapter.erp_model,
                          "crm_id": suggestion.crm.key, "crm_label": suggestion.crm.shown[:255],
                          "erp_id": suggestion.erp.key, "erp_label": suggestion.erp.shown[:255],
                          "score": suggestion.score, "agree": suggestion.agree})
    return found


def reads_for_adapters(ctx: RunContext) -> list[Adapter]:
    return [adapter for read in reads_for(ctx.config) for adapter in read.adapters]


def _erp_name(obj) -> str:
    return str(getattr(obj, "display_name", None) or getattr(obj, "name", "") or "")


def _label(values: dict) -> str:
    """An incoming record as people would name it."""
    for name in ("display_name", "name"):
        if values.get(name):
            return str(values[name])
    return " ".join(str(values.get(n) or "").strip() for n in ("first_name", "last_name")).strip()
