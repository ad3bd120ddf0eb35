"""The planner on its own: no database, no network. The rules of DESIGN.md 5.1, one by one, then
properties over generated records (a plan applied twice is a no-op; our own pushed values come back as
no-ops)."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.engine import planner
from sync.engine.mapping import FieldSpec, record_to_erp, round_trip, to_crm, to_erp
from sync.engine.planner import ErpRow, Incoming, Kind, LinkState, PlanInput

NAME = FieldSpec("display_name", "Account_Name", "text", "text", max_length=255, two_way=True)
PHONE = FieldSpec("phone", "Phone", "phone", "phone", max_length=50, two_way=True)
NOTES = FieldSpec("notes", "Description", "textarea", "textarea", two_way=False)  # fetch only
SPECS = [NAME, PHONE, NOTES]


def linked(values: dict, snapshot: dict, erp: dict, *, crm_wins=True, specs=SPECS) -> planner.Action:
    data = PlanInput(
        specs=specs, erp_model="customer", crm_wins=crm_wins,
        incoming=[Incoming(crm_id="1", values=values)],
        links={"1": LinkState(erp_model="customer", erp_id=7, origin="crm", snapshot=snapshot)},
        rows={7: ErpRow(erp_id=7, values=erp, label="Acme")},
    )
    [action] = planner.plan(data)
    return action


BASE = {"display_name": "Acme", "phone": "100", "notes": "n", planner.OWNER_KEY: None}


def test_a_record_unchanged_on_both_sides_is_a_no_op():
    action = linked({"display_name": "Acme", "phone": "100", "notes": "n"}, BASE,
                    {"display_name": "Acme", "phone": "100", "notes": "n"})
    assert action.kind == Kind.NOOP and not action.erp_changes and not action.push


def test_a_change_in_the_crm_is_copied_to_the_erp():
    action = linked({"display_name": "Acme Ltd", "phone": "100", "notes": "n"}, BASE,
                    {"display_name": "Acme", "phone": "100", "notes": "n"})
    assert action.kind == Kind.UPDATE
    assert action.erp_changes == {"display_name": "Acme Ltd"} and action.push == {}
    assert action.snapshot["display_name"] == "Acme Ltd"


def test_a_change_in_the_erp_is_copied_to_the_crm():
    action = linked({"display_name": "Acme", "phone": "100", "notes": "n"}, BASE,
                    {"display_name": "Acme", "phone": "200", "notes": "n"})
    assert action.push == {"phone": "200"} and action.erp_changes == {}
    assert action.snapshot["phone"] == "200"


def test_the_same_change_on_both_sides_is_no_conflict():
    action = linked({"display_name": "Acme", "phone": "300", "notes": "n"}, BASE,
                    {"display_name": "Acme", "phone": "300", "notes": "n"})
    assert action.kind == Kind.NOOP and not action.issues


def test_different_changes_on_both_sides_are_a_conflict_won_by_the_crm_for_customers():
    action = linked({"display_name": "Acme", "phone": "crm", "notes": "n"}, BASE,
                    {"display_name": "Acme", "phone": "erp", "notes": "n"})
    assert action.kind == Kind.CONFLICT
    assert action.erp_changes == {"phone": "crm"} and action.push == {}
    [issue] = action.issues
    assert (issue.kind, issue.field, issue.crm_value, issue.erp_value) == ("conflict", "phone", "crm", "erp")
    assert "CRM value was kept" in issue.message


def test_different_changes_on_both_sides_are_won_by_the_erp_for_items():
    action = linked({"display_name": "Acme", "phone": "crm", "notes": "n"}, BASE,
                    {"display_name": "Acme", "phone": "erp", "notes": "n"}, crm_wins=False)
    assert action.kind == Kind.CONFLICT
    assert action.push == {"phone": "erp"} and action.erp_changes == {}
    assert action.snapshot["phone"] == "erp"
    assert action.issues[0].crm_value == "crm" and action.issues[0].erp_value == "erp"


def test_a_fetch_only_field_follows_the_crm_and_never_pushes():
    local_edit = linked({"display_name": "Acme", "phone": "100", "notes": "n"}, BASE,
                        {"display_name": "Acme", "phone": "100", "notes": "edited in ERP"})
    assert local_edit.kind == Kind.NOOP and not local_edit.push
    crm_edit = linked({"display_name": "Acme", "phone": "100", "notes": "new"}, BASE,
                      {"display_name": "Acme", "phone": "100", "notes": "edited in ERP"})
    assert crm_edit.erp_changes == {"notes": "new"} and not crm_edit.issues


def test_a_newly_mapped_field_takes_the_first_sides_value_without_a_conflict():
    snapshot = {"display_name": "Acme", "notes": "n"}
    customers = linked({"display_name": "Acme", "phone": "crm", "notes": "n"}, snapshot,
                       {"display_name": "Acme", "phone": "erp", "notes": "n"})
    assert customers.erp_changes == {"phone": "crm"} and not customers.issues
    items = linked({"display_name": "Acme", "phone": "crm", "notes": "n"}, snapshot,
                   {"display_name": "Acme", "phone": "erp", "notes": "n"}, crm_wins=False)
    assert items.push == {"phone": "erp"} and not items.issues


def test_a_new_owner_only_updates_the_link():
    data = PlanInput(specs=SPECS, erp_model="customer", crm_wins=True,
                     incoming=[Incoming(crm_id="1", values={"display_name": "Acme", "phone": "100", "notes": "n"},
                                        owner_id="u2")],
                     links={"1": LinkState("customer", 7, "crm", {**BASE, planner.OWNER_KEY: "u1"})},
                     rows={7: ErpRow(7, {"display_name": "Acme", "phone": "100", "notes": "n"})})
    [action] = planner.plan(data)
    assert action.kind == Kind.UPDATE and not action.erp_changes and not action.push
    assert action.snapshot[planner.OWNER_KEY] == "u2"


# --- records without a link ---------------------------------------------------------------------------------


def unlinked(action: str, *, name="  ACME  ", candidates=True) -> planner.Action:
    data = PlanInput(
        specs=SPECS, erp_model="customer", crm_wins=True,
        incoming=[Incoming(crm_id="9", values={"display_name": name.strip(), "phone": "1", "notes": ""})],
        rows={3: ErpRow(3, {"display_name": "acme", "phone": "", "notes": ""}, label="acme")},
        duplicate_field="display_name", duplicate_action=action,
        candidates={"acme": [3]} if candidates else {},
    )
    [result] = planner.plan(data)
    return result


def test_without_a_duplicate_a_crm_record_is_created():
    action = unlinked("skip", candidates=False)
    assert action.kind == Kind.CREATE and action.erp_changes["display_name"] == "ACME"


def test_a_duplicate_with_skip_leaves_both_alone_and_says_why():
    action = unlinked("skip")
    assert action.kind == Kind.SKIP and not action.erp_changes
    assert action.issues[0].kind == "skipped" and "acme" in action.issues[0].message


def test_a_duplicate_with_overwrite_links_the_existing_record_and_takes_crm_values():
    action = unlinked("overwrite")
    assert (action.kind, action.erp_id) == (Kind.LINK, 3)
    assert action.erp_changes == {"display_name": "ACME", "phone": "1"}
    assert action.snapshot["display_name"] == "ACME"


def test_a_duplicate_with_clone_creates_a_second_record():
    assert unlinked("clone").kind == Kind.CREATE


def test_duplicate_keys_are_compared_trimmed_and_case_folded():
    assert planner.normalise("  Straße GmbH ") == planner.normalise("STRASSE gmbh")


def test_two_crm_records_cannot_overwrite_the_same_erp_record():
    data = PlanInput(
        specs=SPECS, erp_model="customer", crm_wins=True,
        incoming=[Incoming("a", {"display_name": "Acme"}), Incoming("b", {"display_name": "acme"})],
        rows={3: ErpRow(3, {"display_name": "Acme"})}, duplicate_field="display_name",
        duplicate_action="overwrite", candidates={"acme": [3]},
    )
    first, second = planner.plan(data)
    assert (first.kind, first.erp_id) == (Kind.LINK, 3)
    assert second.kind == Kind.CREATE


def test_a_sku_in_use_is_an_error_for_that_record_only():
    sku = FieldSpec("sku", "Product_Code", "text", "text", max_length=100, two_way=True)
    name = FieldSpec("name", "Product_Name", "text", "text", max_length=255, two_way=True)
    data = PlanInput(
        specs=[name, sku], erp_model="item", crm_wins=False,
        incoming=[Incoming("a", {"name": "Chair", "sku": "S-1"}), Incoming("b", {"name": "Desk", "sku": "S-2"}),
                  Incoming("c", {"name": "Lamp", "sku": "S-2"})],
        rows={5: ErpRow(5, {"name": "Old chair", "sku": "S-1"}, label="Old chair")},
        duplicate_field="name", duplicate_action="clone", unique_field="sku", unique_taken={"S-1": 5},
    )
    chair, desk, lamp = planner.plan(data)
    assert chair.kind == Kind.ERROR and "Old chair" in chair.issues[0].message
    assert desk.kind == Kind.CREATE
    assert lamp.kind == Kind.ERROR  # S-2 went to the desk a moment ago


def test_a_record_that_did_not_convert_is_an_error_with_the_field_and_value():
    error = to_erp_error()
    data = PlanInput(specs=SPECS, erp_model="customer", crm_wins=True,
                     incoming=[Incoming("x", {}, errors=[error]), Incoming("y", {"display_name": "Fine"})])
    bad, good = planner.plan(data)
    assert bad.kind == Kind.ERROR and bad.issues[0].field == "phone" and "x" * 60 in bad.issues[0].message
    assert good.kind == Kind.CREATE


def to_erp_error():
    try:
        to_erp(PHONE, "x" * 60)
    except Exception as error:  # noqa: BLE001
        return error
    raise AssertionError("60 characters do not fit a phone number")


def test_a_contact_without_a_synced_account_is_skipped_with_the_reason():
    person = FieldSpec("last_name", "Last_Name", "text", "text", max_length=100, two_way=True)
    data = PlanInput(specs=[person], erp_model="contact_person", crm_wins=True, has_parent=True,
                     incoming=[Incoming("c1", {"last_name": "Ng"}, parent_crm_id="acc-9"),
                               Incoming("c2", {"last_name": "Li"}, parent_crm_id="acc-1", parent_erp_id=4),
                               Incoming("c3", {"last_name": "Wu"}, parent_crm_id="acc-1", parent_erp_id=4)])
    orphan, first, second = planner.plan(data)
    assert orphan.kind == Kind.SKIP and "account is not synced" in orphan.issues[0].message
    assert (first.kind, first.parent_id, first.make_primary) == (Kind.CREATE, 4, True)
    assert (second.parent_id, second.make_primary) == (4, False)  # one primary per customer


def test_a_contact_that_moves_to_another_account_moves_with_it():
    person = FieldSpec("last_name", "Last_Name", "text", "text", max_length=100, two_way=True)
    data = PlanInput(specs=[person], erp_model="contact_person", crm_wins=True, has_parent=True,
                     incoming=[Incoming("c1", {"last_name": "Ng"}, parent_crm_id="acc-2", parent_erp_id=8)],
                     links={"c1": LinkState("contact_person", 11, "crm",
                                            {"last_name": "Ng", planner.PARENT_KEY: "acc-1"})},
                     rows={11: ErpRow(11, {"last_name": "Ng"}, parent_id=4, is_primary=True)},
                     parents_with_primary={8})
    [action] = planner.plan(data)
    assert (action.kind, action.parent_id, action.make_primary) == (Kind.UPDATE, 8, False)
    assert action.snapshot[planner.PARENT_KEY] == "acc-2"


def test_a_contact_that_lost_its_account_leaves_its_contact_person_for_an_individual_customer():
    data = PlanInput(specs=SPECS, erp_model="customer", crm_wins=True,
                     incoming=[Incoming("c1", {"display_name": "Ng"})],
                     links={"c1": LinkState("contact_person", 11, "crm", {})})
    [action] = planner.plan(data)
    assert action.kind == Kind.CREATE and action.retire.erp_id == 11 and action.retire_record


def test_a_link_whose_erp_record_is_gone_is_replaced_by_a_new_record():
    data = PlanInput(specs=SPECS, erp_model="customer", crm_wins=True,
                     incoming=[Incoming("1", {"display_name": "Acme"})],
                     links={"1": LinkState("customer", 99, "crm", {"display_name": "Acme"})})
    [action] = planner.plan(data)
    assert action.kind == Kind.CREATE and action.retire.erp_id == 99 and not action.retire_record


def test_deletions_follow_origin_and_transactions():
    links = {"a": LinkState("customer", 1, "crm", {}), "b": LinkState("customer", 2, "crm", {}),
             "c": LinkState("customer", 3, "erp", {}), "d": LinkState("customer", 4, "crm", {})}
    actions = planner.plan_deletions(["a", "b", "c", "d", "unknown"], links=links,
                                     existing={("customer", 1), ("customer", 2), ("customer", 3)},
                                     with_transactions={("customer", 2)})
    kinds = {a.crm_id: (a.kind, a.deactivate) for a in actions}
    assert kinds == {"a": (Kind.DELETE, False), "b": (Kind.UNLINK, True), "c": (Kind.UNLINK, False),
                     "d": (Kind.UNLINK, False)}


# --- properties --------------------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12).map(str.strip)
values = st.fixed_dictionaries({"display_name": text.filter(bool), "phone": text, "notes": text})


def apply_in_memory(data: PlanInput, actions) -> PlanInput:
    """What the applier and the pusher do, on plain dicts: the state the next plan sees."""
    state = copy.deepcopy(data)
    crm = {record.crm_id: record for record in state.incoming}
    next_id = max([0, *state.rows]) + 1
    for action in actions:
        record = crm[action.crm_id]
        if action.kind in (Kind.CREATE, Kind.LINK, Kind.UPDATE, Kind.CONFLICT):
            if action.kind == Kind.CREATE:
                state.rows[next_id] = ErpRow(next_id, {})
                action.erp_id, next_id = next_id, next_id + 1
            state.rows[action.erp_id].values.update(action.erp_changes)
            # The CRM takes what we push and hands back its own form of it.
            for name, value in action.push.items():
                spec = next(s for s in data.specs if s.erp_field == name)
                record.values[name] = to_erp(spec, to_crm(spec, value))
            snapshot = planner.pushed_snapshot(data.specs, action.snapshot, action.push)
            state.links[action.crm_id] = LinkState("customer", action.erp_id, "crm", snapshot)
    state.candidates = {}
    return state


@st.composite
def pages(draw):
    count = draw(st.integers(min_value=1, max_value=6))
    data = PlanInput(specs=SPECS, erp_model="customer", crm_wins=draw(st.booleans()), incoming=[],
                     duplicate_field="display_name", duplicate_action=draw(st.sampled_from(["clone", "overwrite"])))
    for n in range(count):
        crm_values = draw(values)
        data.incoming.append(Incoming(crm_id=f"c{n}", values=crm_values, owner_id=draw(st.sampled_from(["u1", "u2"]))))
        state = draw(st.sampled_from(["new", "linked", "duplicate"]))
        if state == "linked":
            snapshot = {**draw(values), planner.OWNER_KEY: "u1"}
            data.rows[100 + n] = ErpRow(100 + n, draw(values))
            data.links[f"c{n}"] = LinkState("customer", 100 + n, "crm", snapshot)
        elif state == "duplicate":
            data.rows[100 + n] = ErpRow(100 + n, {**draw(values), "display_name": crm_values["display_name"].upper()})
            key = planner.normalise(crm_values["display_name"])
            data.candidates.setdefault(key, []).append(100 + n)
    return data


@settings(max_examples=150, deadline=None)
@given(pages())
def test_a_plan_applied_then_planned_again_is_all_no_ops(data):
    first = planner.plan(data)
    second = planner.plan(apply_in_memory(data, first))
    assert [(a.kind, a.erp_changes, a.push) for a in second] == [(Kind.NOOP, {}, {})] * len(second)


@settings(max_examples=150, deadline=None)
@given(values, values, values, st.booleans())
def test_after_a_merge_and_push_both_sides_equal_the_snapshot(base, crm, erp, crm_wins):
    action = linked(dict(crm), {**base, planner.OWNER_KEY: None}, dict(erp), crm_wins=crm_wins)
    erp_after = {**erp, **action.erp_changes}
    crm_after = {**crm, **{k: round_trip(next(s for s in SPECS if s.erp_field == k), v) for k, v in action.push.items()}}
    snapshot = planner.pushed_snapshot(SPECS, action.snapshot, action.push)
    for spec in SPECS:
        if spec.two_way:
            assert erp_after[spec.erp_field] == crm_after[spec.erp_field] == snapshot[spec.erp_field]
        else:
            assert crm_after[spec.erp_field] == snapshot[spec.erp_field]
    # ... and so the echo of our own writes, fetched again, changes nothing.
    echo = linked(crm_after, snapshot, erp_after, crm_wins=crm_wins)
    assert echo.kind == Kind.NOOP


decimals = st.decimals(min_value=0, max_value=10**11, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.tuples(st.just(FieldSpec("rate", "Unit_Price", "decimal", "currency")), decimals.map(str)),
    st.tuples(st.just(FieldSpec("item_type", "Product_Type", "choice", "picklist")),
              st.sampled_from(["goods", "service"])),
    st.tuples(st.just(FieldSpec("email", "Email", "email", "email", max_length=254)),
              st.emails().filter(lambda e: len(e) < 200).map(str.strip)),
    st.tuples(st.just(FieldSpec("cf:Since", "Since", "date", "date")), st.dates().map(lambda d: d.isoformat())),
    st.tuples(st.just(FieldSpec("cf:Vip", "Vip", "boolean", "boolean")), st.booleans()),
))
def test_a_pushed_value_comes_back_unchanged(case):
    spec, value = case
    canonical = to_erp(spec, value)
    assert to_erp(spec, to_crm(spec, canonical)) == canonical


def test_a_value_that_does_not_convert_is_named_by_the_fields_label():
    spec = FieldSpec("email", "Email", "email", "email", max_length=254, label="Email")
    data = PlanInput(specs=[spec], erp_model="customer", crm_wins=True, incoming=[
        Incoming(crm_id="1", values={}, errors=record_to_erp([spec], {"Email": "not an email"})[1])])
    [action] = planner.plan(data)
    assert action.issues[0].message == "Email 'not an email' is not a valid email address."
