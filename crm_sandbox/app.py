"""The running sandbox: its store, its configuration knobs, call counters and server-side cursors."""

import json
import random
import secrets
import threading
import time
from collections import Counter

from . import seed as seeding
from .bulk import PER_PAGE, BulkReads, results_folder
from .schema import MODULES, fields_of
from .store import Store, system_unique_fields
from .times import parse_offset
from .watch import Notifier

DEFAULT_CLIENT_ID = "1000.SANDBOXCLIENT0000000000000000"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_REFRESH_TOKEN = "1000.sandboxrefresh.0000000000000000000000000000000"

DEFAULT_CONFIG = {
    "latency_ms": 0,
    "error_rate_5xx": 0.0,
    "error_rate_429": 0.0,
    "drop_rate": 0.0,
    "timeout_rate": 0.0,
    "timeout_ms": 30000,
    "page_token_ceiling": 100000,
    "discrete_ceiling": 2000,
    "rate_limit_per_minute": 0,
    # API credits per rolling 24 hours, counted at the reference's per-call costs (0: not counted).
    "daily_credits": 0,
    "access_token_lifetime": 3600,
    "utc_offset": "-05:00",
    "fault_seed": None,
    # Notifications (crm_sandbox/watch.py): changes together within this window make one callback; late,
    # lost and twice-sent callbacks.
    "notify_coalesce_ms": 50,
    "notify_delay_ms": 0,
    "notify_drop_rate": 0.0,
    "notify_duplicate_rate": 0.0,
    # Bulk Read (crm_sandbox/bulk.py): a job ends no sooner than this after its creation; share that fail;
    # records per job page (Zoho's 200,000; fewer to make a test's module span pages).
    "bulk_job_ms": 100,
    "bulk_fail_rate": 0.0,
    "bulk_per_page": PER_PAGE,
}

_RATES = {"error_rate_5xx", "error_rate_429", "drop_rate", "timeout_rate", "notify_drop_rate", "notify_duplicate_rate",
          "bulk_fail_rate"}
PAGE_TOKEN_LIFETIME = 86400


class Reply:
    """What a handler returns: a status, a body (JSON; bytes; an open binary file, which is streamed and
    closed; None for 204/304) and extra headers."""

    def __init__(self, status: int, body: dict | list | None = None, headers: dict | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}


def check_config(values: dict) -> dict:
    """Validate a partial configuration; raises ValueError naming the bad key."""
    clean = {}
    for key, value in values.items():
        if key not in DEFAULT_CONFIG:
            raise ValueError(f"unknown setting {key!r}")
        if key == "utc_offset":
            parse_offset(value)
        elif key == "fault_seed":
            if value is not None and not isinstance(value, int):
                raise ValueError("fault_seed must be an integer or null")
        elif key in _RATES:
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError(f"{key} must be a number between 0 and 1")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key} must be a non-negative integer")
        elif key == "bulk_per_page" and value < 1:
            raise ValueError("bulk_per_page must be at least 1")
        clean[key] = value
    return clean


class Sandbox:
    def __init__(self, data_path: str, *, seed_name: str = "demo", seed_sizes: dict | None = None,
                 client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 refresh_token: str = DEFAULT_REFRESH_TOKEN, config: dict | None = None):
        self.store = Store(data_path)
        self.seed_name = seed_name
        self.seed_sizes = seed_sizes
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.start_config = {**DEFAULT_CONFIG, **check_config(config or {})}
        self.lock = threading.Lock()
        self.page_tokens: dict[str, dict] = {}
        self._custom_fields: dict[str, list[dict]] = {}
        self._restore_config()
        wanted = {"name": seed_name, "sizes": seeding.effective_sizes(seed_name, seed_sizes)}
        if self.store.get_meta("seed") != wanted:
            seeding.seed(self.store, seed_name, seed_sizes)
        self.store.ensure_indexes(self.unique_fields())
        self._register_refresh_token()
        self.notifier = Notifier(self)
        self.store.on_commit = self.notifier.changed
        self.bulk_reads = BulkReads(self, results_folder(data_path))

    # --- state ----------------------------------------------------------------------------------------

    def _restore_config(self) -> None:
        self.config = dict(self.start_config)
        self.rng = random.Random(self.config["fault_seed"])
        self.reset_calls()
        self.rate_window = (0, 0)
        self.credits_spent: list[tuple[float, int]] = []  # (when, credits) of the calls in the last 24 hours

    def configure(self, values: dict) -> dict:
        clean = check_config(values)
        with self.lock:
            self.config.update(clean)
            if "fault_seed" in clean:
                self.rng = random.Random(clean["fault_seed"])
        return dict(self.config)

    def reset(self) -> None:
        """Back to the seed data and the configuration the server started with; no channels, no jobs."""
        self.notifier.reset()
        self.bulk_reads.reset()
        seeding.seed(self.store, self.seed_name, self.seed_sizes)
        with self.lock:
            self.page_tokens.clear()
            self._custom_fields.clear()
            self.credits_spent.clear()
            self._restore_config()
        self.store.ensure_indexes(self.unique_fields())
        self._register_refresh_token()

    def reset_calls(self) -> None:
        self.calls: Counter = Counter()
        self.faults: Counter = Counter()

    def _register_refresh_token(self) -> None:
        """The configured refresh token is valid, and so are the access tokens it gave (a reset undoes a
        revocation of it)."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO grants(token, kind, expires_at, revoked) VALUES (?, 'refresh', NULL, 0) "
                "ON CONFLICT(token) DO UPDATE SET revoked = 0",
                (self.refresh_token,),
            )
            conn.execute("UPDATE grants SET revoked = 0 WHERE refresh = ? AND kind = 'access'", (self.refresh_token,))

    @property
    def offset(self) -> int:
        return parse_offset(self.config["utc_offset"])

    def now(self) -> int:
        return int(time.time())

    def new_token(self) -> str:
        return secrets.token_hex(32)

    # --- fields -----------------------------------------------------------------------------------------

    def fields(self, module: str) -> list[dict]:
        custom = self._custom_fields.get(module)
        if custom is None:
            custom = self._custom_fields[module] = self.store.custom_fields(module)
        labels = (self.store.get_meta("field_labels") or {}).get(module) or {}
        fields = fields_of(module, custom)
        if labels:
            # Renamed in the CRM's setup: the label changes, the API name stays.
            fields = [{**f, "field_label": labels[f["api_name"]], "display_label": labels[f["api_name"]]}
                      if f["api_name"] in labels else f for f in fields]
        return fields

    def rename_field(self, module: str, api_name: str, label: str) -> dict:
        if api_name not in self.field_map(module):
            raise KeyError(api_name)
        labels = self.store.get_meta("field_labels") or {}
        labels.setdefault(module, {})[api_name] = label
        with self.store.transaction() as conn:
            self.store.set_meta("field_labels", labels, conn)
        return self.field_map(module)[api_name]

    def change_field(self, module: str, api_name: str, *, new_api_name: str | None = None,
                     data_type: str | None = None) -> dict:
        """A custom field's API name or type changed, as an administrator may change them: the records'
        values move to the new name. Raises KeyError (no such field), ValueError (a standard field)."""
        row = self.store.query("SELECT id, definition FROM custom_fields WHERE module = ? AND api_name = ?",
                               (module, api_name))
        if not row:
            raise (ValueError if api_name in self.field_map(module) else KeyError)(api_name)
        definition = json.loads(row[0]["definition"])
        name = new_api_name or api_name
        definition.update(api_name=name, data_type=data_type or definition["data_type"])
        with self.store.transaction() as conn:
            conn.execute("UPDATE custom_fields SET api_name = ?, definition = ? WHERE id = ?",
                         (name, json.dumps(definition), row[0]["id"]))
            if name != api_name:
                conn.execute(f"UPDATE records SET data = json_remove(json_set(data, '$.{name}', "
                             f"json_extract(data, '$.{api_name}')), '$.{api_name}') "
                             f"WHERE module = ? AND json_extract(data, '$.{api_name}') IS NOT NULL", (module,))
        self.forget_fields(module)
        return self.field_map(module)[name]

    def delete_field(self, module: str, api_name: str) -> None:
        """A custom field deleted in the CRM's setup, with its values."""
        row = self.store.query("SELECT id FROM custom_fields WHERE module = ? AND api_name = ?", (module, api_name))
        if not row:
            raise (ValueError if api_name in self.field_map(module) else KeyError)(api_name)
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM custom_fields WHERE id = ?", (row[0]["id"],))
            conn.execute(f"UPDATE records SET data = json_remove(data, '$.{api_name}') WHERE module = ?", (module,))
        self.forget_fields(module)

    def field_map(self, module: str) -> dict[str, dict]:
        return {field["api_name"]: field for field in self.fields(module)}

    def forget_fields(self, module: str) -> None:
        self._custom_fields.pop(module, None)

    def unique_fields(self) -> list[tuple[str, str, bool]]:
        found = system_unique_fields()
        for module in MODULES:
            for field in self.fields(module):
                if field["unique"]:
                    found.append((module, field["api_name"], is_case_sensitive(field)))
        return found


def is_case_sensitive(field: dict) -> bool:
    return str(field["unique"].get("casesensitive", "false")).lower() == "true"
