"""Bulk SQL for pages of hundreds of rows: COPY for inserts, pipelined updates, relaxed commits, and the
planner statistics a large first load needs. Nothing here knows the sync's rules."""

from __future__ import annotations

import datetime
import json
import logging
from operator import attrgetter, itemgetter

import orjson
from django.db import DatabaseError
from django.db import connection as db_connection
from django.db.models import DateTimeField, IntegerField, JSONField
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

log = logging.getLogger("sync")

# Rows added by a fetch after which the database's planner statistics are first refreshed: a page of a
# large load. Statistics that say a table is empty make every index look alike to the planner, and it
# may then look a page's keys up through one that scans the connection's rows for each key.
STATISTICS_AFTER = 2000


class Blueprint:
    """New, unsaved instances of a model made without Model.__init__, whose per-field work is most of the
    cost of the hundreds of thousands of objects a first sync creates: the fields' defaults are worked
    out once (callable ones, such as a UUID, per instance), then given values are set over them. Falls
    back to the model's own constructor when something listens for its init signals."""

    def __init__(self, model):
        self.model = model
        self.static: dict = {}
        self.dynamic: list = []
        for field in model._meta.concrete_fields:
            if field.has_default() and callable(field.default):
                self.dynamic.append((field.attname, field.default))
            else:
                self.static[field.attname] = field.get_default()

    def new(self, **values):
        model = self.model
        if (pre_init.receivers or post_init.receivers) and (pre_init.has_listeners(model)
                                                            or post_init.has_listeners(model)):
            return model(**values)
        obj = model.__new__(model)
        attributes = obj.__dict__
        attributes.update(self.static)
        for name, make in self.dynamic:
            if name not in values:  # (a default given anyway is not worked out: timezone.now costs)
                attributes[name] = make()
        attributes.update(values)
        attributes["_state"] = ModelState()
        return obj


_blueprints: dict = {}


def new_object(model, **values):
    """model(**values) for attnames (organization_id, not organization), the fast way."""
    blueprint = _blueprints.get(model)
    if blueprint is None:
        blueprint = _blueprints[model] = Blueprint(model)
    return blueprint.new(**values)


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


def probe(model, column: str, keys, **equal) -> list:
    """The rows of `model` whose `column` is one of `keys` and whose other columns equal `equal` (model
    instances), where `equal` and `column`, in that order, are a unique index's columns (one row per
    key), found by one probe of that index per key on PostgreSQL. An IN list (or a join) leaves the choice
    to the planner, and while a first load grows a table faster than its statistics, the planner takes
    the rows matching `equal` as few and scans them all for every page: a pass that slows as it goes."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return []
    if db_connection.vendor != "postgresql":
        return list(model.objects.filter(**{f"{column}__in": keys}, **equal))
    sql, params = probe_sql(model, column, keys, **equal)
    return list(model.objects.raw(sql, params))


def probe_values(model, names: list[str], column: str, keys, **equal) -> list[tuple]:
    """probe's rows as tuples of the fields `names` (attnames): no model instances built, no other columns
    read (a link's snapshot is most of its row)."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return []
    if db_connection.vendor != "postgresql":
        return list(model.objects.filter(**{f"{column}__in": keys}, **equal).values_list(*names))
    meta, quote = model._meta, db_connection.ops.quote_name
    fields = [meta.get_field(name) for name in names]
    sql, params = probe_sql(model, column, keys, select=", ".join(f"found.{quote(f.column)}" for f in fields),
                            **equal)
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = [(n, f.from_db_value) for n, f in enumerate(fields) if hasattr(f, "from_db_value")]
    if converters:
        rows = [tuple(_converted(row, converters)) for row in rows]
    return rows


def _converted(row: tuple, converters: list) -> list:
    values = list(row)
    for index, convert in converters:
        values[index] = convert(values[index], None, db_connection)
    return values


def probe_sql(model, column: str, keys: list, *, select: str = "found.*", **equal) -> tuple[str, list]:
    meta, quote = model._meta, db_connection.ops.quote_name
    field = meta.get_field(column)
    # Keys as bigint or as text (never as the column's varchar(n), which would cut a longer key to fit).
    integer = isinstance(field.target_field if field.is_relation else field, IntegerField)
    names = list(equal)
    columns = [quote(meta.get_field(name).column) for name in names]
    where = " AND ".join([*(f"{name} = %s" for name in columns), f"{quote(field.column)} = probe.key"])
    # One row per key, in the order of the unique index: the planner takes that index even when its
    # statistics make every index look alike (an empty table's), and does not flatten the subquery
    # into a join it may hash.
    order = ", ".join([*columns, quote(field.column)])
    array, param = _key_array(keys, "bigint" if integer else "text")
    sql = (f"SELECT {select} FROM unnest({array}) AS probe(key) CROSS JOIN LATERAL "
           f"(SELECT * FROM {quote(meta.db_table)} WHERE {where} ORDER BY {order} LIMIT 1) AS found")
    return sql, [param, *(_prepared(meta.get_field(name), equal[name]) for name in names)]


KEY_SEPARATOR = "\x1f"  # (the ASCII unit separator)


def _key_array(keys: list, kind: str) -> tuple[str, object]:
    """An SQL array of the keys and its parameter: one text split by the server, which psycopg quotes
    at once, where it can (a list is quoted element by element in Python: thousands a page); as a list
    when a key is empty or holds the separator."""
    texts = [str(key) for key in keys]
    if all(text and KEY_SEPARATOR not in text for text in texts):
        return f"string_to_array(%s, chr(31))::{kind}[]", KEY_SEPARATOR.join(texts)
    return f"%s::{kind}[]", keys


def _prepared(field, value):
    if hasattr(value, "pk"):
        return value.pk
    return field.get_db_prep_value(value, db_connection)


def reserve_ids(wanted: list[tuple[object, int]]) -> list[list[int]]:
    """Primary keys for rows about to be inserted into several tables, from their sequences in one round
    trip: [(model, how many), ...] -> a list of ids per model (PostgreSQL)."""
    parts, params = [], []
    for index, (model, count) in enumerate(wanted):
        if count:
            parts.append(f"SELECT {index}, nextval(%s::regclass) FROM generate_series(1, %s)")
            params += [_sequence(model), count]
    found: list[list[int]] = [[] for _ in wanted]
    if parts:
        with db_connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for index, pk in cursor.fetchall():
                found[index].append(pk)
    return found


class ReservedIds:
    """reserve_ids for the pages of one pass, several pages' worth at a time: one round trip where there
    were `pages`, each waiting its turn on a database busy with the previous page's writes. The ids a pass
    leaves unused are a gap in the sequence, as a rolled-back insert leaves one."""

    def __init__(self, pages: int):
        self.pages = pages
        self._free: dict = {}

    def take(self, wanted: list[tuple[object, int]]) -> list[list[int]]:
        short = [(model, count * self.pages) for model, count in wanted if len(self._free.get(model, ())) < count]
        for (model, _count), ids in zip(short, reserve_ids(short), strict=True):
            self._free.setdefault(model, []).extend(ids)
        taken = []
        for model, count in wanted:
            free = self._free.get(model, [])
            taken.append(free[:count])
            del free[:count]
        return taken


_sequences: dict = {}


def _sequence(model) -> str:
    """The name of the sequence behind a model's primary key (looked up once: calling
    pg_get_serial_sequence per row costs a catalog lookup a row)."""
    name = _sequences.get(model)
    if name is None:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, model._meta.pk.column])
            name = _sequences[model] = cursor.fetchone()[0]
    return name


def insert_rows(model, objects: list, *, now, ids: list[int] | None = None) -> None:
    """bulk_create, and on PostgreSQL the same through COPY: a first sync inserts hundreds of thousands of
    rows, and building them as parameter arrays costs more Python time than the database spends storing
    them. Primary keys are taken from the table's sequence first (or `ids`, reserved by reserve_ids), so
    the objects have them afterwards."""
    if not objects:
        return
    if db_connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=500)
        return
    CopyRows(model, objects, now=now, ids=ids).send()


class CopyRows:
    """New rows of one table made into COPY data where it is made (primary keys given, auto_now fields
    stamped), and sent by `send` then, or later on another connection (PostgreSQL). Until they are sent,
    and if sending fails, the objects are unsaved (`unsaved`)."""

    def __init__(self, model, objects: list, *, now, ids: list[int] | None = None):
        meta = model._meta
        self.model, self.objects = model, objects
        fields = list(meta.concrete_fields)
        quote = db_connection.ops.quote_name
        self.sql = (f"COPY {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN")
        stamped = [f.attname for f in fields if getattr(f, "auto_now", False)]
        created = [f.attname for f in fields if getattr(f, "auto_now_add", False)]
        for obj in objects:
            for name in stamped:
                setattr(obj, name, now)
            for name in created:
                if getattr(obj, name) is None:
                    setattr(obj, name, now)
        if ids is None:
            ids = reserve_ids([(model, len(objects))])[0]
        for obj, pk in zip(objects, ids, strict=True):
            obj.pk = pk
        self.data = _copy_data(fields, objects)

    def send(self) -> None:
        try:
            with db_connection.wrap_database_errors, db_connection.cursor() as cursor:
                with cursor.cursor.copy(self.sql) as copy:
                    for chunk in self.data:
                        copy.write(chunk)
        except DatabaseError:
            self.unsaved()
            raise
        alias = db_connection.alias  # (the connection proxy costs a lookup per attribute read)
        for obj in self.objects:
            state = obj._state
            state.adding = False
            state.db = alias

    def unsaved(self) -> None:
        """Not saved: writing them again inserts them afresh."""
        for obj in self.objects:
            obj.pk = None
            obj._state.adding = True


def _copy_data(fields: list, objects: list) -> list[bytes]:
    """The objects' rows in COPY's text format, by psycopg's own formatting (the connection's dumpers)."""
    from psycopg._copy_base import TextFormatter
    from psycopg.adapt import Transformer

    db_connection.ensure_connection()
    formatter = TextFormatter(Transformer(db_connection.connection))
    names = [f.attname for f in fields]
    # Read from the instance's own attributes (a quarter of the time of reading each through its field's
    # descriptor); an instance missing one (a deferred field) is read through the model.
    values_in, values_of = itemgetter(*names), attrgetter(*names)
    json_columns = [n for n, f in enumerate(fields) if isinstance(f, JSONField)]
    time_columns = [n for n, f in enumerate(fields) if isinstance(f, DateTimeField)]
    times: dict = {}  # a page's rows share their stamps: each written out once
    chunks = []
    for obj in objects:
        try:
            row = list(values_in(obj.__dict__))
        except KeyError:
            row = list(values_of(obj))
        for n in json_columns:
            if row[n] is not None:
                row[n] = _json_text(row[n])  # COPY's text format takes JSON as text
        for n in time_columns:
            value = row[n]
            if isinstance(value, datetime.datetime) and value.tzinfo is not None:
                # ISO text with its offset (the same instant): psycopg's dumper takes 2 µs a value
                text = times.get(value)
                row[n] = text if text is not None else times.setdefault(value, value.isoformat())
        chunk = formatter.write_row(row)
        if chunk:
            chunks.append(chunk)
    chunks.append(formatter.end())
    return chunks


def relaxed_commit() -> None:
    """A page's commit need not wait for the disk: should the database server itself crash, it loses the
    last pages together with the cursor that counted them, and the next run replays them harmlessly."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


class TableGrowth:
    """While a fetch adds many rows (a first sync), keep PostgreSQL's planner statistics up with the
    tables' growth rather than wait for autovacuum (which may be slow, or off): with statistics that
    still say "empty", the planner scans whole indexes in the per-page lookups and nests loops in the
    queries that follow, and a sync slows down as it goes. Refreshed each time the rows added grow fourfold,
    so a few times per run, and once more when the fetch is over if it grew by a quarter since."""

    def __init__(self, models: set):
        # Only the columns the engine's queries look rows up by: statistics of the rest (snapshots, notes)
        # cost most of an ANALYZE and tell the planner nothing it uses here.
        self.targets = sorted(f"{m._meta.db_table} ({', '.join(_lookup_columns(m))})" for m in models)
        self.added = 0  # rows added by this run's fetch so far
        self.analyzed_at = 0  # rows added when the statistics were last refreshed

    def grew(self, rows: int) -> None:
        self.added += rows
        self._refresh()

    def fetch_done(self) -> None:
        if self.added > self.analyzed_at * 1.25:
            self.analyzed_at = 0
            self._refresh()

    def _refresh(self) -> None:
        if self.added < max(STATISTICS_AFTER, self.analyzed_at * 4) or db_connection.vendor != "postgresql":
            return
        self.analyzed_at = self.added
        try:
            with db_connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {', '.join(self.targets)}")
        except DatabaseError as error:  # not the tables' owner: autovacuum will do it
            log.info("could not analyze %s: %s", self.targets, error)


def _lookup_columns(model) -> list[str]:
    """The primary key, foreign keys, and the columns of the model's indexes and unique constraints."""
    meta = model._meta
    names = {meta.pk.column} | {f.column for f in meta.concrete_fields if f.is_relation or f.db_index or f.unique}
    for group in [*meta.indexes, *meta.constraints]:
        for name in getattr(group, "fields", ()) or ():
            names.add(meta.get_field(name.lstrip("-")).column)
    return sorted(names)


def _json_text(value) -> str:
    """A JSON column's value as JSON text: orjson (a tenth of json.dumps' time, a snapshot a row), or
    json.dumps for what orjson refuses (integers beyond 64 bits, keys that are not strings)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)
