"""The sync rules as a pure function: from one page of CRM records, their links and the ERP rows to a
list of actions. No database, no network: everything it needs comes in as plain values.

DESIGN.md 5.1 is the specification. Per linked record and field, a three-way merge of base (the link's
snapshot), crm (incoming) and erp (current): a one-sided change is copied to the other side, a change
on both sides to different values is a conflict that the module's first side wins. Records without a
link go through the duplicate rule (clone | overwrite | skip), comparing trimmed, case-folded keys with
ERP rows that have no link. The applier writes the actions; a dry run shows them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .mapping import FieldSpec, round_trip
from .plan_types import Action, ErpRow, Incoming, Issue, Kind, LinkState, PlanInput  # noqa: F401 - its vocabulary

MISSING = object()  # a field the snapshot does not know (newly mapped, or a new link)
OWNER_KEY = "_owner"  # CRM user id of the record's owner, kept on the link
PARENT_KEY = "_account"  # a contact person's CRM account id


def normalise(value) -> str:
    """The duplicate key: trimmed and case-folded."""
    return str(value or "").strip().casefold()


def duplicate_text(data: PlanInput, values: dict) -> str:
    """What an incoming record brings to compare for duplicates, before normalising."""
    if data.duplicate_source:
        return " ".join(part for part in (str(values.get(name) or "").strip() for name in data.duplicate_source) if part)
    return str(values.get(data.duplicate_field) or "").strip()


def merge_field(spec: FieldSpec, base, crm, erp, *, crm_wins: bool) -> tuple[Any, str]:
    """(merged value, what happened): "", "erp" (copy to ERP), "crm" (copy to CRM), "conflict-crm" or
    "conflict-erp" (both changed; the named side won)."""
    if not spec.two_way:
        # CRM -> ERP only: the snapshot follows the CRM; a local ERP edit stands until the CRM changes.
        if base is MISSING or crm != base:
            return crm, ("erp" if erp != crm else "")
        return crm, ""
    if crm == erp:
        return crm, ""
    if base is MISSING:
        return (crm, "erp") if crm_wins else (erp, "crm")
    if erp == base:
        return crm, "erp"
    if crm == base:
        return erp, "crm"
    return (crm, "conflict-crm") if crm_wins else (erp, "conflict-erp")


def merge(specs: list[FieldSpec], base: dict, crm: dict, erp: dict, *, crm_wins: bool) -> Action:
    """The three-way merge of one linked record, field by field (crm_id and erp_id left to the caller)."""
    action = Action(kind=Kind.NOOP, crm_id="", base=dict(base))
    for spec in specs:
        name = spec.erp_field
        crm_value = crm.get(name, MISSING)
        erp_value = erp.get(name, MISSING)
        if crm_value is MISSING:
            continue
        merged, outcome = merge_field(spec, base.get(name, MISSING), crm_value, erp_value, crm_wins=crm_wins)
        action.snapshot[name] = merged
        if outcome in ("erp", "conflict-crm"):
            action.erp_changes[name] = merged
        elif outcome in ("crm", "conflict-erp"):
            action.push[name] = merged
        if outcome.startswith("conflict"):
            winner = "CRM" if outcome == "conflict-crm" else "ERP"
            action.issues.append(Issue(
                kind="conflict", field=name, crm_value=crm_value, erp_value=erp_value,
                message=f"{spec.label or name} changed both in Zoho CRM and here since the last sync; "
                    f"the {winner} value was kept.",
            ))
    if action.issues:
        action.kind = Kind.CONFLICT
    elif action.erp_changes or action.push:
        action.kind = Kind.UPDATE
    return action


def _label(row: ErpRow) -> str:
    return row.label or f"#{row.erp_id}"


def plan(data: PlanInput) -> list[Action]:
    """One action per incoming record, in order. Pure: `data` is not modified."""
    data = replace(data, own=set(data.own), links_taken=set())  # claimed as records come back
    candidates = {key: list(ids) for key, ids in data.candidates.items()}
    unique_taken = dict(data.unique_taken)
    with_primary = set(data.parents_with_primary)
    actions: list[Action] = []
    seen: set[str] = set()
    for record in data.incoming:
        if record.crm_id in seen:
            continue  # the same record twice in a page: the first one stands (the CRM sorts newest last)
        seen.add(record.crm_id)
        action = _plan_one(data, record, candidates, unique_taken, with_primary)
        action.crm_id = record.crm_id
        action.modified = record.modified
        actions.append(action)
    return actions


def _meta(data: PlanInput, record: Incoming) -> dict:
    meta = {OWNER_KEY: record.owner_id}
    if data.has_parent:
        meta[PARENT_KEY] = record.parent_crm_id
    return meta


def _plan_one(data: PlanInput, record: Incoming, candidates, unique_taken, with_primary) -> Action:
    if record.errors:
        return Action(kind=Kind.ERROR, crm_id=record.crm_id, issues=[
            Issue(kind="error", field=error.field, crm_value=error.value,
                  message=f"{error.label} {error.value!r:.200} {error.reason}.")
            for error in record.errors
        ])
    link = data.links.get(record.crm_id)
    retire, retire_record = None, False
    if link is not None and link.erp_model != data.erp_model:
        # The record changed kind (a contact that found or lost its account): it leaves its old ERP record.
        retire, retire_record, link = link, True, None
    row = data.rows.get(link.erp_id) if link is not None else None
    if link is not None and row is None:
        retire, link = link, None  # the ERP record was deleted (or left the module): the link is stale
    if data.has_parent and record.parent_erp_id is None:
        # A contact person whose contact lost its account (or whose account left the view) goes too.
        leaving = link if link is not None else (retire if retire_record else None)
        return Action(kind=Kind.SKIP, crm_id=record.crm_id, retire=leaving, retire_record=leaving is not None,
                      issues=[Issue(kind="skipped",
                                    message="The contact's account is not synced, so it has no customer to belong to.")])
    if link is not None:
        return _plan_linked(data, record, link, row, unique_taken, with_primary)
    action = _plan_unlinked(data, record, candidates, unique_taken, with_primary)
    if action.kind != Kind.SKIP:
        action.retire, action.retire_record = retire, retire_record
    return action


def _plan_linked(data: PlanInput, record: Incoming, link: LinkState, row: ErpRow, unique_taken,
                 with_primary) -> Action:
    """A record with a link: the three-way merge, a contact person's move to another customer, a new owner."""
    action = merge(data.specs, link.snapshot, record.values, row.values, crm_wins=data.crm_wins)
    action.erp_id = row.erp_id
    if _unique_clash(data, action.erp_changes, row.erp_id, unique_taken, action):
        return action
    if data.has_parent and record.parent_erp_id != row.parent_id:
        action.parent_id = record.parent_erp_id
        action.make_primary = record.parent_erp_id not in with_primary
        if action.make_primary:
            with_primary.add(record.parent_erp_id)
        if action.kind == Kind.NOOP:
            action.kind = Kind.UPDATE
    meta = _meta(data, record)
    action.snapshot.update(meta)
    if action.kind == Kind.NOOP and any(link.snapshot.get(k) != v for k, v in meta.items()):
        action.kind = Kind.UPDATE  # only the link changes (a new owner)
    return action


def _plan_unlinked(data: PlanInput, record: Incoming, candidates, unique_taken, with_primary) -> Action:
    """A record without a link: our own pushed record coming back (a crash came between the CRM's write and
    our link), else the duplicate rule, else a new ERP record."""
    snapshot = {**record.values, **_meta(data, record)}
    if record.erp_ref is not None and record.erp_ref in data.own:
        data.own.discard(record.erp_ref)
        return _how(_link_to(data, record, record.erp_ref, snapshot, unique_taken, by_order=True), "erp id")
    accepted = data.accepted.get(record.crm_id)
    if accepted is not None and accepted in data.rows and accepted not in data.links_taken:
        data.links_taken.add(accepted)
        _forget_candidate(candidates, accepted)
        return _how(_link_to(data, record, accepted, snapshot, unique_taken, by_order=True), "suggestion")
    key = normalise(duplicate_text(data, record.values)) if data.duplicate_field is not None else ""
    found = [c for c in candidates.get(key) or () if (record.crm_id, c) not in data.rejected] if key else []
    if found:
        match = found[0]
        if data.duplicate_action == "skip":
            return _skip_duplicate(data, record, match)
        if data.duplicate_action == "overwrite":
            candidates[key].remove(match)
            action = _link_to(data, record, match, snapshot, unique_taken)
            existing = data.rows.get(match)
            if action.kind != Kind.ERROR and data.has_parent and existing is not None \
                    and existing.parent_id != record.parent_erp_id:
                action.parent_id = record.parent_erp_id
            return _how(action, "duplicate rule")
    action = Action(kind=Kind.CREATE, crm_id=record.crm_id, erp_changes=dict(record.values), snapshot=snapshot,
                    how="clone" if found else "")
    if _unique_clash(data, action.erp_changes, None, unique_taken, action):
        return action
    if data.has_parent:
        action.parent_id = record.parent_erp_id
        action.make_primary = record.parent_erp_id not in with_primary
        with_primary.add(record.parent_erp_id)
    return action


def _how(action: Action, how: str) -> Action:
    action.how = how
    return action


def _forget_candidate(candidates: dict[str, list[int]], erp_id: int) -> None:
    for ids in candidates.values():
        if erp_id in ids:
            ids.remove(erp_id)


def _link_to(data: PlanInput, record: Incoming, erp_id: int, snapshot: dict, unique_taken, *,
             by_order: bool = False) -> Action:
    """Link an unlinked ERP record and take the CRM's values where they differ (the duplicate rule's
    Overwrite). `by_order`: a link the admin or our own id made, where the module's first side wins
    (items both ways keep the ERP's values and send them to the CRM)."""
    existing = data.rows.get(erp_id)
    current = existing.values if existing else {}
    if by_order and not data.crm_wins:
        merged = merge(data.specs, {}, record.values, current, crm_wins=False)
        action = Action(kind=Kind.LINK, crm_id=record.crm_id, erp_id=erp_id, erp_changes=merged.erp_changes,
                        push=merged.push, snapshot={**snapshot, **merged.snapshot})
        _unique_clash(data, action.erp_changes, erp_id, unique_taken, action)
        return action
    changes = {k: v for k, v in record.values.items() if current.get(k, MISSING) != v}
    action = Action(kind=Kind.LINK, crm_id=record.crm_id, erp_id=erp_id, erp_changes=changes, snapshot=snapshot)
    _unique_clash(data, changes, erp_id, unique_taken, action)
    return action


def _skip_duplicate(data: PlanInput, record: Incoming, match: int) -> Action:
    existing = data.rows.get(match)
    name = _label(existing) if existing else f"#{match}"
    compared = data.duplicate_label or data.duplicate_field
    return Action(kind=Kind.SKIP, crm_id=record.crm_id, erp_id=match, issues=[Issue(
        kind="skipped", field=data.duplicate_field or "", crm_value=duplicate_text(data, record.values), erp_value=name,
        message=f"A {data.noun} with the same {compared} already exists here ({name}); "
                "the duplicate rule is Skip, so neither was changed.")])


def _unique_clash(data: PlanInput, changes: dict, erp_id: int | None, taken: dict, action: Action) -> bool:
    """Turn the action into an error when it would give a unique ERP field (SKU) a value in use."""
    name = data.unique_field
    if name is None or name not in changes or changes[name] in ("", None):
        return False
    value = changes[name]
    holder = taken.get(value)
    if holder is not None and holder != erp_id:
        row = data.rows.get(holder)
        action.kind = Kind.ERROR
        action.erp_changes, action.push, action.snapshot = {}, {}, {}
        label = next((spec.label for spec in data.specs if spec.erp_field == name and spec.label), name)
        action.issues = [Issue(kind="error", field=name, crm_value=value, erp_value=_label(row) if row else "",
                               message=f"{label} {value!r} is already used by another {data.noun} here "
                                       f"({_label(row) if row else f'#{holder}'}).")]
        return True
    taken[value] = erp_id if erp_id is not None else -1
    return False


# --- pushing (ERP -> CRM) ------------------------------------------------------------------------------------


def pushed_snapshot(specs: list[FieldSpec], snapshot: dict, pushed: dict) -> dict:
    """The snapshot after the CRM accepted `pushed`: what the CRM will hand back on the next fetch."""
    by_name = {spec.erp_field: spec for spec in specs}
    result = dict(snapshot)
    for name, value in pushed.items():
        spec = by_name.get(name)
        result[name] = round_trip(spec, value) if spec else value
    return result


def plan_push(
    specs: list[FieldSpec], *, link: LinkState, erp: dict, crm: dict | None, crm_wins: bool
) -> Action:
    """A linked ERP record that changed since its last sync. `crm` is the CRM record's current values when
    the ERP goes first (items), so that changes on both sides are seen; otherwise the fetch already merged
    the CRM side and the snapshot stands for it."""
    incoming = dict(crm) if crm is not None else {k: v for k, v in link.snapshot.items() if not k.startswith("_")}
    for spec in specs:
        # A field the CRM side does not tell us about stands for "unchanged since the snapshot".
        incoming.setdefault(spec.erp_field, link.snapshot.get(spec.erp_field, erp.get(spec.erp_field)))
    action = merge(specs, link.snapshot, incoming, erp, crm_wins=crm_wins)
    action.erp_id = link.erp_id
    for key in (OWNER_KEY, PARENT_KEY):
        if key in link.snapshot:
            action.snapshot[key] = link.snapshot[key]
    return action


# --- deletions -------------------------------------------------------------------------------------------------


def plan_deletions(
    crm_ids: list[str], *, links: dict[str, LinkState], existing: set[tuple[str, int]],
    with_transactions: set[tuple[str, int]],
) -> list[Action]:
    """Records deleted in the CRM: CRM-origin ERP records go unless they have transactions (then they are
    kept, inactive, unlinked); ERP-origin records are never deleted because of the CRM (only unlinked)."""
    actions = []
    for crm_id in dict.fromkeys(crm_ids):
        link = links.get(crm_id)
        if link is None:
            continue
        key = (link.erp_model, link.erp_id)
        if key not in existing:
            actions.append(Action(kind=Kind.UNLINK, crm_id=crm_id, erp_id=link.erp_id, retire=link))
        elif link.origin == "crm" and key not in with_transactions:
            actions.append(Action(kind=Kind.DELETE, crm_id=crm_id, erp_id=link.erp_id, retire=link))
        else:
            reason = ("it has transactions, so it was kept and marked inactive" if link.origin == "crm"
                      else "it was created in the ERP, so it was kept")
            actions.append(Action(kind=Kind.UNLINK, crm_id=crm_id, erp_id=link.erp_id, retire=link,
                                  deactivate=link.origin == "crm",
                                  issues=[Issue(kind="skipped", message=f"Deleted in the CRM; {reason}.")]))
    return actions
