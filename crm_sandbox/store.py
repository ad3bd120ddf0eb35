"""The sandbox's SQLite file: records of all modules in one table, deleted records, custom fields, tokens.

One connection guarded by one lock: SQLite serialises writers anyway, the work per request is a few
milliseconds, and a single connection keeps "validate, then write" atomic without retry loops. Only Bulk
Read exports, which read for seconds, use a reader connection of their own.
"""

import json
import sqlite3
import threading
from contextlib import contextmanager

from .schema import ID_BASE, MODULES

_DDL = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    module TEXT NOT NULL,
    created_time INTEGER NOT NULL,
    modified_time INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deleted (
    id INTEGER PRIMARY KEY,
    module TEXT NOT NULL,
    display_name TEXT,
    type TEXT NOT NULL,
    deleted_by TEXT,
    created_by TEXT,
    deleted_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deleted_by_time ON deleted(module, deleted_time, id);
CREATE TABLE IF NOT EXISTS custom_fields (
    id INTEGER PRIMARY KEY,
    module TEXT NOT NULL,
    api_name TEXT NOT NULL,
    definition TEXT NOT NULL,
    UNIQUE (module, api_name)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS grants (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    expires_at INTEGER,
    redirect_uri TEXT,
    scope TEXT,
    revoked INTEGER NOT NULL DEFAULT 0,
    refresh TEXT
);
"""

# Built after bulk seeding rather than before: index maintenance per row is what makes large seeds slow.
_RECORD_INDEXES = """
CREATE INDEX IF NOT EXISTS records_by_id ON records(module, id);
CREATE INDEX IF NOT EXISTS records_by_modified ON records(module, modified_time, id);
CREATE INDEX IF NOT EXISTS records_by_created ON records(module, created_time, id);
"""

FIRST_RECORD_ID = ID_BASE + 1000000001


def value_expression(api_name: str, casesensitive: bool = False) -> str:
    """The SQL for a field's value; the same text is used in indexes so that lookups can use them."""
    expression = f"json_extract(data, '$.{api_name}')"
    return expression if casesensitive else f"lower({expression})"


class Store:
    def __init__(self, path: str):
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_DDL)
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(grants)")}
        if "refresh" not in columns:  # a data file from before access tokens knew their refresh token
            self.conn.execute("ALTER TABLE grants ADD COLUMN refresh TEXT")
        self.events: list | None = None  # record changes of the transaction in progress
        self.on_commit = None  # called with a committed transaction's changes: (module, operation, id)

    def record_event(self, module: str, operation: str, record_id: int) -> None:
        """A record changed in the transaction in progress (announced once it commits)."""
        if self.events is not None:
            self.events.append((module, operation, record_id))

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self):
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            self.events = []
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                self.events = None
                raise
            self.conn.execute("COMMIT")
            events, self.events = self.events, None
            if events and self.on_commit is not None:
                self.on_commit(events)

    @contextmanager
    def reader(self):
        """A connection of its own for a long read (a Bulk Read export): one query on it sees the data as
        they were when it started, and holds no lock meanwhile, so writes go on (WAL)."""
        if self.path == ":memory:":
            with self.lock:
                yield self.conn
            return
        conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params=()):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    # --- meta -------------------------------------------------------------------------------------------

    def get_meta(self, key: str, default=None):
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else json.loads(value)

    def set_meta(self, key: str, value, conn=None) -> None:
        (conn or self.conn).execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def allocate_ids(self, conn, count: int) -> int:
        """Reserve `count` consecutive ids inside the caller's transaction; returns the first."""
        first = self.get_meta("next_id", FIRST_RECORD_ID)
        self.set_meta("next_id", first + count, conn)
        return first

    # --- records -----------------------------------------------------------------------------------------

    def ensure_indexes(self, unique_fields: list[tuple[str, str, bool]]) -> None:
        """Record indexes plus one expression index per duplicate-check or unique field."""
        with self.lock:
            self.conn.executescript(_RECORD_INDEXES)
            for module, api_name, casesensitive in unique_fields:
                name = f"value_{module}_{api_name}_{'cs' if casesensitive else 'ci'}"
                self.conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON records(module, {value_expression(api_name, casesensitive)})"
                )

    def get_record(self, module: str, record_id: int):
        rows = self.query("SELECT * FROM records WHERE module = ? AND id = ?", (module, record_id))
        return rows[0] if rows else None

    def find_by_value(self, conn, module: str, api_name: str, value, casesensitive: bool = False,
                      exclude_id: int | None = None) -> int | None:
        expression = value_expression(api_name, casesensitive)
        needle = "?" if casesensitive else "lower(?)"
        row = conn.execute(
            f"SELECT id FROM records WHERE module = ? AND {expression} = {needle} AND id IS NOT ? ORDER BY id LIMIT 1",
            (module, value, exclude_id),
        ).fetchone()
        return row[0] if row else None

    def names_of(self, ids: set[int]) -> dict[int, dict]:
        """id -> {module, data} for lookup display; one query for a whole page."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.query(f"SELECT id, module, data FROM records WHERE id IN ({marks})", tuple(ids))
        return {row["id"]: {"module": row["module"], "data": json.loads(row["data"])} for row in rows}

    def custom_fields(self, module: str) -> list[dict]:
        rows = self.query("SELECT definition FROM custom_fields WHERE module = ? ORDER BY id", (module,))
        return [json.loads(row[0]) for row in rows]

    def clear(self) -> None:
        """Everything but tokens: a reset keeps connected clients connected."""
        with self.transaction() as conn:
            for table in ("records", "deleted", "custom_fields", "meta"):
                conn.execute(f"DELETE FROM {table}")
        with self.lock:
            for row in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'value_%'"
            ).fetchall():
                self.conn.execute(f"DROP INDEX {row[0]}")

    def count(self, module: str) -> int:
        return self.scalar("SELECT count(*) FROM records WHERE module = ?", (module,))


def system_unique_fields() -> list[tuple[str, str, bool]]:
    return [(module, info["dup"], False) for module, info in MODULES.items()]
