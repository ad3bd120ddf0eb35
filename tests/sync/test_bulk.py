"""The bulk SQL under a first load: rows looked up by key with one index probe per key, whatever the
planner's statistics say (they lag behind a table a first load grows), and the primary keys of new rows
reserved from their sequences."""

from __future__ import annotations

import pytest
from django.db import connection as db

from customers.models import ContactPerson, Customer
from sync.engine.bulk import ReservedIds, TableGrowth, probe, probe_sql, reserve_ids
from sync.models import RecordLink

pytestmark = pytest.mark.django_db


def _links(connection, module: str, count: int, *, start: int = 0) -> list[RecordLink]:
    return RecordLink.objects.bulk_create([
        RecordLink(connection=connection, crm_module=module, crm_id=str(9_000_000 + start + n), erp_model="customer",
                   erp_id=start + n + 1, synced_snapshot={}) for n in range(count)], batch_size=2000)


def test_probe_finds_the_rows_an_in_list_finds(connection):
    _links(connection, "Accounts", 50)
    _links(connection, "Contacts", 50, start=1000)
    RecordLink.objects.create(connection=connection, crm_module="Accounts", crm_id="1" * 40, erp_model="customer",
                              erp_id=10**6, synced_snapshot={})
    # (a key longer than the column is not cut to fit: it matches nothing)
    wanted = [str(9_000_000 + n) for n in (0, 7, 49, 1000, 1049)] + ["404", "1" * 45]

    found = probe(RecordLink, "crm_id", wanted, connection=connection, crm_module="Accounts")

    expected = RecordLink.objects.filter(connection=connection, crm_module="Accounts", crm_id__in=wanted)
    assert sorted(link.crm_id for link in found) == sorted(link.crm_id for link in expected) \
        == ["9000000", "9000007", "9000049"]
    assert probe(RecordLink, "crm_id", [], connection=connection) == []


def test_probe_by_an_integer_key_with_a_condition(actors):
    customers = Customer.objects.bulk_create([Customer(organization=actors.organization, display_name=f"C{n}")
                                              for n in range(3)])
    ContactPerson.objects.create(customer=customers[0], last_name="Primary", is_primary=True)
    ContactPerson.objects.create(customer=customers[1], last_name="Other", is_primary=False)

    found = probe(ContactPerson, "customer", [c.pk for c in customers], is_primary=True)

    assert [person.customer_id for person in found] == [customers[0].pk]


def test_probe_stays_on_the_index_when_the_statistics_know_none_of_the_module_s_rows(connection):
    """Statistics taken while the accounts were loaded know no contacts: an IN list over a page of contacts
    then scans every contact link for each page (the planner takes them as few), and a join hashes them."""
    _links(connection, "Accounts", 20_000)
    with db.cursor() as cursor:
        cursor.execute("ANALYZE sync_recordlink")
    _links(connection, "Contacts", 20_000, start=20_000)
    keys = [str(8_000_000 + n) for n in range(2000)]  # a page of new records: none linked yet
    sql, params = probe_sql(RecordLink, "crm_id", keys, connection=connection.pk, crm_module="Contacts")

    with db.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0][0]["Plan"]


    scanned = []

    def walk(node):
        scanned.append((node["Node Type"], node.get("Index Name"), node.get("Actual Rows", 0) * node.get("Actual Loops", 1),
                        node.get("Rows Removed by Filter", 0)))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    kinds = {kind for kind, *_ in scanned}
    assert "Seq Scan" not in kinds and "Hash Join" not in kinds, scanned
    assert ("Index Scan", "one_link_per_crm_record", 0, 0) in scanned, scanned


def test_reserved_ids_come_from_each_table_s_sequence(connection):
    customer_ids, link_ids = reserve_ids([(Customer, 3), (RecordLink, 2)])
    assert len(set(customer_ids)) == 3 and len(set(link_ids)) == 2
    link = _links(connection, "Accounts", 1)[0]
    assert link.pk > max(link_ids)  # the sequence moved past what was reserved


def test_ids_reserved_pages_ahead_are_each_taken_once_and_never_given_to_another_insert(actors):
    from django.test.utils import CaptureQueriesContext

    reserved = ReservedIds(pages=4)
    with CaptureQueriesContext(db) as queries:
        first, links = reserved.take([(Customer, 3), (RecordLink, 2)])
        second, none = reserved.take([(Customer, 3), (RecordLink, 0)])
    assert len(queries) == 1  # twelve customer ids and eight link ids in one round trip
    assert none == [] and second == [max(first) + 1 + n for n in range(3)] and len(links) == 2

    meanwhile = Customer.objects.create(organization=actors.organization, display_name="Typed in meanwhile")
    third, = reserved.take([(Customer, 3)])
    fourth, = reserved.take([(Customer, 5)])  # more than the block has left: its last three and a new block
    taken = first + second + third + fourth
    assert len(set(taken)) == len(taken) == 14 and meanwhile.pk not in taken
    assert max(third) < meanwhile.pk < max(fourth)


def test_statistics_are_refreshed_after_a_first_load_s_first_page(connection):
    """Statistics taken when the table had pages but no rows (records deleted) say "empty": until they are
    refreshed the planner may probe each key through an index that scans all of the connection's links."""
    _links(connection, "Accounts", 3000)
    RecordLink.objects.all().delete()
    with db.cursor() as cursor:
        cursor.execute("ANALYZE sync_recordlink")
    growth = TableGrowth({RecordLink})
    _links(connection, "Contacts", 2000, start=100_000)  # the first page of a load
    growth.grew(2000)
    _links(connection, "Contacts", 2000, start=102_000)

    keys = [str(8_000_000 + n) for n in range(2000)]
    sql, params = probe_sql(RecordLink, "crm_id", keys, connection=connection.pk, crm_module="Contacts")
    with db.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0][0]["Plan"]
    inner = plan["Plans"][1]["Plans"][0]  # the probe of one key, under the nested loop's LIMIT
    assert inner.get("Index Name") == "one_link_per_crm_record" and not inner.get("Rows Removed by Filter"), inner


def test_copied_rows_keep_their_json_and_text_exactly(connection):
    """COPY's text format: tabs, newlines, backslashes and NUL-free unicode in text and JSON come back as
    they went, and JSON that orjson refuses (an integer beyond 64 bits, a key that is not a string) too."""
    from django.utils import timezone

    from sync.engine.bulk import insert_rows, probe_values

    snapshots = [
        {"display_name": "Tab\there, new\nline, back\\slash, quote \" and Ünïcødé ✓", "rate": 12.5, "tags": ["a", "b"],
         "nested": {"none": None, "yes": True}},
        {"big": 2**70},
        {1: "an integer key"},
    ]
    links = [RecordLink(connection=connection, crm_module="Accounts", crm_id=f"77{n}", erp_model="customer",
                        erp_id=70 + n, synced_snapshot=snapshot, crm_modified_time=None)
             for n, snapshot in enumerate(snapshots)]
    links[0].crm_id = "77\t0"

    insert_rows(RecordLink, links, now=timezone.now())

    stored = {link.crm_id: link.synced_snapshot for link in RecordLink.objects.filter(connection=connection)}
    assert stored == {"77\t0": snapshots[0], "771": {"big": 2**70}, "772": {"1": "an integer key"}}
    assert all(link.pk for link in links)
    [(snapshot,)] = probe_values(RecordLink, ["synced_snapshot"], "crm_id", ["771"], connection=connection,
                                 crm_module="Accounts")
    assert snapshot == {"big": 2**70}
