"""A worker killed with SIGKILL at any point of a multi-page sync, then the sync run again: the same state
as an uninterrupted run, with no duplicates on either side and nothing lost.

The worker is a child process (tests/sync/crash_child.py) on a database of its own: a copy of a
migrated SQLite file, or a PostgreSQL database cloned from a migrated template, whichever engine the
tests run on. The test process only orchestrates: it watches the sandbox's call counters to kill the
child at the chosen moment and compares what both runs leave behind.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from crm_sandbox.process import SandboxProcess

from .conftest import Crm

ROOT = Path(__file__).resolve().parents[2]
SIZES = "accounts=600,contacts=900,vendors=0,products=0"
ERP_CUSTOMERS = 350  # pushed in four upserts of at most 100

# Each case starts a sandbox and a worker process of its own and kills it: the slowest tests.
pytestmark = pytest.mark.slow


class Databases:
    """Fresh databases for child processes, cloned from one migrated template."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.key = Fernet.generate_key().decode()
        db = settings.DATABASES["default"]
        self.postgres = "postgresql" in db["ENGINE"]
        self.server = {"host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432,
                       "user": db.get("USER") or "postgres", "password": db.get("PASSWORD") or None}
        self.template = f"erp_crash_tpl_{uuid.uuid4().hex[:8]}" if self.postgres else str(folder / "template.sqlite3")
        self.created: list[str] = []

    def url(self, name: str) -> str:
        if not self.postgres:
            return f"sqlite:///{name}"
        s = self.server
        auth = s["user"] + (f":{s['password']}" if s["password"] else "")
        return f"postgres://{auth}@{s['host']}:{s['port']}/{name}"

    def env(self, name: str) -> dict:
        return {**os.environ, "DATABASE_URL": self.url(name), "FIELD_ENCRYPTION_KEY": self.key,
                "CRM_ALLOW_LOOPBACK": "1", "DJANGO_SETTINGS_MODULE": "erp_crm.settings", "LOG_LEVEL": "WARNING",
                "DEBUG": "0", "VAR_DIR": str(self.folder / "var")}

    def _admin(self, sql: str) -> None:
        s = self.server
        with psycopg.connect(host=s["host"], port=s["port"], user=s["user"], password=s["password"],
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def prepare(self) -> None:
        if self.postgres:
            self._admin(f'CREATE DATABASE "{self.template}"')
            self.created.append(self.template)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "--skip-checks", "-v", "0"], cwd=ROOT,
                       env=self.env(self.template), check=True)

    def fresh(self) -> str:
        if self.postgres:
            name = f"erp_crash_{uuid.uuid4().hex[:8]}"
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            self.created.append(name)
            return name
        name = str(self.folder / f"{uuid.uuid4().hex[:8]}.sqlite3")
        shutil.copy(self.template, name)
        return name

    def drop_all(self) -> None:
        for name in reversed(self.created):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    found = Databases(tmp_path_factory.mktemp("crash"))
    found.prepare()
    yield found
    if found.postgres:
        found.drop_all()


@pytest.fixture(scope="module")
def big_crm():
    with SandboxProcess(seed="demo", seed_size=SIZES) as process:
        yield process


def child(databases: Databases, db: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.sync.crash_child", *args], cwd=ROOT,
                            env=databases.env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return out.strip().splitlines()[-1]


def setup_db(databases, crm, config: dict, erp_customers: int = 0) -> tuple[str, str]:
    db = databases.fresh()
    crm.reset()
    spec = {"url": crm.base_url, "client_id": crm.client_id, "client_secret": crm.client_secret,
            "refresh_token": crm.refresh_token, "config": config, "erp_customers": erp_customers}
    config_id = finish(child(databases, db, "setup", json.dumps(spec)))
    return db, config_id


def crm_side(crm) -> list:
    """What the CRM holds, without ids or times that legitimately differ between runs."""
    reader = Crm(crm)
    accounts = reader.records("Accounts", ["Account_Name", "Phone", "ERP_Id"] if _has_erp_id(crm) else
                              ["Account_Name", "Phone"])
    return sorted([r["id"], r["Account_Name"], r.get("Phone"), r.get("ERP_Id")] for r in accounts.values())


def _has_erp_id(crm) -> bool:
    return any(f["api_name"] == "ERP_Id" for f in Crm(crm).client().fields("Accounts"))


def kill_when(process: subprocess.Popen, crm, calls: str, count: int) -> None:
    """SIGKILL the child a random moment after the CRM has answered `count` calls named like `calls`."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        seen = sum(n for name, n in crm.calls()["calls"].items() if name.startswith(calls))
        if seen >= count:
            time.sleep(random.uniform(0, 0.04))
            break
        time.sleep(0.003)
    assert process.poll() is None, "the run ended before the kill point; choose an earlier one"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


FETCH = {"crm_source": "accounts_and_contacts", "include_orphan_contacts": True}
PUSH = {"crm_source": "accounts", "direction": "both"}


@pytest.fixture(scope="module")
def reference(databases, big_crm):
    """The state an uninterrupted run leaves, per scenario."""
    found = {}
    big_crm.config(latency_ms=0)
    for name, config, erp in (("fetch", FETCH, 0), ("push", PUSH, ERP_CUSTOMERS)):
        db, config_id = setup_db(databases, big_crm, config, erp)
        outcome = json.loads(finish(child(databases, db, "run", config_id)))
        assert outcome["status"] == "succeeded", outcome
        found[name] = (json.loads(finish(child(databases, db, "dump", config_id))), crm_side(big_crm))
    return found


@pytest.mark.parametrize(("scenario", "calls", "count", "redeliver"), [
    ("fetch", "GET /crm/v8/Accounts", 2, False),
    ("fetch", "GET /crm/v8/Accounts", 4, True),
    ("fetch", "GET /crm/v8/Contacts", 2, False),
    ("fetch", "GET /crm/v8/Contacts", 4, True),
    ("push", "POST /crm/v8/Accounts/upsert", 1, False),
    ("push", "POST /crm/v8/Accounts/upsert", 3, True),
], ids=["accounts-page-2", "accounts-page-4", "contacts-page-2", "contacts-page-4", "push-batch-1", "push-batch-3"])
def test_a_killed_worker_and_a_second_run_end_like_one_uninterrupted_run(databases, big_crm, reference, scenario,
                                                                         calls, count, redeliver):
    config = FETCH if scenario == "fetch" else PUSH
    db, config_id = setup_db(databases, big_crm, config, ERP_CUSTOMERS if scenario == "push" else 0)
    big_crm.config(latency_ms=15)  # time to land between two calls
    big_crm.reset_calls()

    kill_when(child(databases, db, "run", config_id), big_crm, calls, count)
    big_crm.config(latency_ms=0)
    # The pages written before the kill already show under "CRM Customers": the flag goes with the link.
    killed = json.loads(finish(child(databases, db, "dump", config_id)))
    assert all(values[-1] for _, _, model, _, values in killed["links"] if model == "customer")
    assert not any(values[-1] for model, values in killed["unlinked"] if model == "customer")
    again = json.loads(finish(child(databases, db, "run", config_id, "--stale",
                                    *(["--redeliver"] if redeliver else []))))

    assert again["status"] == "succeeded", again
    state = json.loads(finish(child(databases, db, "dump", config_id)))
    expected_state, expected_crm = reference[scenario]
    assert state["links"] == expected_state["links"]
    assert state["unlinked"] == expected_state["unlinked"]
    assert crm_side(big_crm) == expected_crm
    # The killed run was taken over (redelivered) or reclaimed as failed by the next one.
    assert state["runs"] == (["succeeded"] if redeliver else ["failed", "succeeded"])
    erp_ids = [row[3] for row in expected_crm if row[3]]
    assert len(erp_ids) == len(set(erp_ids)) == (ERP_CUSTOMERS if scenario == "push" else 0)


def test_after_a_sigkill_the_next_instant_sync_runs_at_once_and_ends_like_one_run(databases, big_crm, reference):
    """No ten-minute wait for a stale heartbeat: the killed run's lock went with its process (on SQLite,
    which has no such lock, the heartbeat rule stays and the next run waits)."""
    db, config_id = setup_db(databases, big_crm, FETCH)
    big_crm.config(latency_ms=15)
    big_crm.reset_calls()
    kill_when(child(databases, db, "run", config_id), big_crm, "GET /crm/v8/Accounts", 2)
    big_crm.config(latency_ms=0)

    again = json.loads(finish(child(databases, db, "instant", config_id)))

    state = json.loads(finish(child(databases, db, "dump", config_id)))
    if not databases.postgres:
        assert again["status"] == "not started" and "in progress" in again["reason"]
        return
    assert again["status"] == "succeeded", again
    assert state["runs"] == ["failed", "succeeded"]
    assert "process running this sync stopped" in state["reasons"][0]
    assert state["links"] == reference["fetch"][0]["links"]


def test_ctrl_c_ends_a_foreground_crm_sync_as_interrupted_and_the_next_one_runs_at_once(databases, big_crm):
    db, config_id = setup_db(databases, big_crm, FETCH)
    # Slow enough that the run is surely still going when Ctrl-C comes: about ten calls are left after
    # the second Accounts page is asked for (at 15 ms a call, a busy machine could let it finish first).
    big_crm.config(latency_ms=60)
    big_crm.reset_calls()
    command = [sys.executable, "manage.py", "crm_sync", "--org", "Crash Co", "--module", "customers"]
    foreground = subprocess.Popen(command, cwd=ROOT, env=databases.env(db), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and big_crm.calls()["calls"].get("GET /crm/v8/Accounts", 0) < 2:
        time.sleep(0.01)
    assert foreground.poll() is None, "the run ended before Ctrl-C; interrupt it earlier"
    foreground.send_signal(signal.SIGINT)
    _, err = foreground.communicate(timeout=60)
    big_crm.config(latency_ms=0)

    assert foreground.returncode != 0 and "Interrupted" in err
    state = json.loads(finish(child(databases, db, "dump", config_id)))
    assert state["runs"] == ["failed"] and state["reasons"][0].startswith("Interrupted")
    again = subprocess.run(command, cwd=ROOT, env=databases.env(db), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout.strip().splitlines()[-1])["status"] == "succeeded"
