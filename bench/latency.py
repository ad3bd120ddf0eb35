"""How many seconds from a change on one side to the other side holding it? A script, not a test.

    .venv/bin/python bench/latency.py [--changes 200] [--rate 5]

The real processes, as in production: the web server (gunicorn) answering Zoho's callbacks at SITE_URL, a
Celery worker on Redis, PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
erp_bench_latency; the name must end with "bench_latency", the script drops and recreates it), and the CRM
sandbox delivering notifications. One "Accounts" customers module syncs both ways.

1. `--changes` CRM edits at about `--rate` a second (a CRM user editing accounts), then as many ERP saves
   (finance editing customers), on separate records; for each, the seconds until the other side holds
   the new value: p50, p95 and the maximum per direction.
2. The same again with 30 % of the callbacks dropped and 10 % sent twice, then one scheduled run: do both
   sides match, field by field?

The last line: `latency p95 crm->erp X.XX s, erp->crm Y.YY s; lossy: exact|NOT EXACT`. Exit status 0 when
it ran, 2 when it could not.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_env import local_production_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/erp_bench_latency"
BROKER = "redis://127.0.0.1:6379/14"
TARGET_P95 = 5.0
FIELDS = ["Account_Name", "Phone", "Website", "Billing_City"]


def prepare_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not name.endswith("bench_latency"):
        raise SystemExit(f"refusing to drop {name!r}: the database name must end with 'bench_latency'")
    with psycopg.connect(f"{url.rsplit('/', 1)[0]}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def figures(seconds: list[float]) -> str:
    if not seconds:
        return "no changes arrived"
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s ({len(ordered)} changes)"


def p95(seconds: list[float]) -> float:
    ordered = sorted(seconds) or [float("inf")]
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


class Bench:
    def __init__(self, args, crm, connection, config):
        self.args, self.crm, self.connection, self.config = args, crm, connection, config
        from integration import services
        from sync.engine.adapters import ACCOUNTS

        self.client = services.client_for(connection)
        links = list(ACCOUNTS.queryset(connection.organization).values_list("pk", flat=True).order_by("pk"))
        from sync.models import RecordLink

        self.crm_ids = dict(RecordLink.objects.filter(connection=connection, erp_model="customer")
                            .values_list("erp_id", "crm_id"))
        self.customers = [pk for pk in links if pk in self.crm_ids]
        self.round = 0

    def _measure(self, count: int, act, held, *, key, timeout: float) -> list[float]:
        """`act(n)` `count` times at the rate asked for while another thread watches the other side:
        `held(keys)` says which of the changes made (by `key(n)`) it holds now. Returns the seconds each
        took to arrive."""
        import threading

        from django.db import connection as db

        started: dict = {}
        seconds: list[float] = []
        done = threading.Event()

        def watch():
            try:
                arrived, deadline = set(), None
                while True:
                    pending = {k for k in list(started) if k not in arrived}
                    if done.is_set():
                        deadline = deadline or time.monotonic() + timeout
                        if not pending or time.monotonic() > deadline:
                            if pending:
                                print(f"  {len(pending)} changes had not arrived {timeout:.0f} s after the last one")
                            return
                    now = time.monotonic()
                    for k in held(pending) if pending else ():
                        seconds.append(now - started[k])
                        arrived.add(k)
                    time.sleep(0.05)
            finally:
                db.close()

        watcher = threading.Thread(target=watch)
        watcher.start()
        interval, begin = 1 / self.args.rate, time.monotonic()
        for n in range(count):
            time.sleep(max(0.0, begin + n * interval - time.monotonic()))
            act(n)
            started[key(n)] = time.monotonic()
        done.set()
        watcher.join()
        return seconds

    def crm_edits(self, offset: int, timeout: float = 120) -> list[float]:
        """CRM edits of accounts; the seconds until their customers here hold them."""
        from customers.models import Customer

        self.round += 1
        wanted = {}

        def edit(n):
            pk = self.customers[offset + n]
            phone = f"+1 555 {self.round}{n:05d}"
            wanted[pk] = phone
            self.crm.edit_record("Accounts", self.crm_ids[pk], {"Phone": phone})

        return self._measure(self.args.changes, edit, lambda pending: {
            pk for pk, phone in Customer.objects.filter(pk__in=pending).values_list("pk", "phone") if phone == wanted[pk]},
            key=lambda n: self.customers[offset + n], timeout=timeout)

    def erp_saves(self, offset: int, timeout: float = 120) -> list[float]:
        """ERP saves of customers; the seconds until the CRM holds them."""
        from customers.models import Customer
        from customers.services import customer_save

        self.round += 1
        wanted = {}

        def save(n):
            customer = Customer.objects.get(pk=self.customers[offset + n])
            customer.billing_city = f"City {self.round}-{n:05d}"
            wanted[customer.pk] = customer.billing_city
            customer_save(customer=customer)

        def held(pending):
            ids = [self.crm_ids[pk] for pk in pending]
            found = set()
            for start in range(0, len(ids), 100):
                records = self.client.get_records("Accounts", ids[start:start + 100], fields=["Billing_City"])
                by_crm = {r["id"]: r.get("Billing_City") for r in records}
                found |= {pk for pk in pending if by_crm.get(self.crm_ids[pk]) == wanted[pk]}
            return found

        return self._measure(self.args.changes, save, held, key=lambda n: self.customers[offset + n], timeout=timeout)

    def both_sides_match(self) -> list[str]:
        from customers.models import Customer

        customers = {c.pk: c for c in Customer.objects.filter(pk__in=self.customers)}
        differences = []
        ids = [self.crm_ids[pk] for pk in self.customers]
        records = {}
        for start in range(0, len(ids), 100):
            records |= {r["id"]: r for r in self.client.get_records("Accounts", ids[start:start + 100], fields=FIELDS)}
        pairs = (("display_name", "Account_Name"), ("phone", "Phone"), ("website", "Website"),
                 ("billing_city", "Billing_City"))
        for pk in self.customers:
            record, customer = records.get(self.crm_ids[pk], {}), customers[pk]
            for erp, crm in pairs:
                if (getattr(customer, erp) or "") != (record.get(crm) or ""):
                    differences.append(f"customer {pk} {erp}: {getattr(customer, erp)!r} here, {record.get(crm)!r} in the CRM")
        return differences


def start_processes(env: dict, port: int, folder: str) -> list[subprocess.Popen]:
    python = sys.executable
    logs = {name: open(Path(folder) / f"{name}.log", "w") for name in ("web", "worker")}  # noqa: SIM115
    web = subprocess.Popen([python, "-m", "gunicorn", "erp_crm.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
                            "--access-logfile", "-"], cwd=ROOT, env=env, stdout=logs["web"], stderr=subprocess.STDOUT)
    worker = subprocess.Popen([python, "-m", "celery", "-A", "erp_crm", "worker", "--concurrency=2",
                               "--prefetch-multiplier=1", "--loglevel=WARNING"], cwd=ROOT, env=env,
                              stdout=logs["worker"], stderr=subprocess.STDOUT)
    return [web, worker]


def wait_for(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="changes a second")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith("postgres"):
        print("bench/latency.py measures PostgreSQL; set DATABASE_URL to a postgres:// URL", file=sys.stderr)
        return 2
    port = free_port()
    local_production_env()
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": BROKER, "SITE_URL": f"http://127.0.0.1:{port}",
           "CRM_ALLOW_LOOPBACK": "1", "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "erp_crm.settings",
           "ALLOWED_HOSTS": "127.0.0.1"}
    os.environ.update(env)
    try:
        prepare_database(url)
        subprocess.run(["redis-cli", "-n", "14", "flushdb"], check=True, capture_output=True)
    except Exception as error:  # noqa: BLE001 - say why the bench could not run
        print(f"could not prepare {url} or Redis: {error}", file=sys.stderr)
        return 2
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as folder:
        return run(args, env, port, folder)


def setup(crm):
    from integration import services
    from integration.models import ModuleConfig
    from organizations.models import Organization
    from sync import notifications
    from sync.engine import run as engine

    organization = Organization.objects.create(name="Latency Co", email="latency@example.test",
                                               country="United States", base_currency="USD")
    probe = services.crm_client(api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id,
                                client_secret=crm.client_secret, refresh_token=crm.refresh_token)
    connection = services.connection_create(
        organization=organization, user=None, crm_org=probe.org(), api_domain=crm.base_url, accounts_url=crm.base_url,
        client_id=crm.client_id, client_secret=crm.client_secret, refresh_token=crm.refresh_token)
    config = ModuleConfig.objects.create(connection=connection, module="customers", configured=True,
                                         crm_source="accounts", direction="both")
    first = engine.run_now(module_config=config, trigger="initial")
    channel = notifications.channel_refresh(connection=connection)
    return connection, config, first, channel


def run(args, env: dict, port: int, folder: str) -> int:
    from crm_sandbox.process import SandboxProcess

    needed = 4 * args.changes + 10
    with SandboxProcess(str(Path(folder) / "crm.sqlite3"), seed="demo",
                        seed_size=f"accounts={needed},contacts=0,vendors=0,products=0") as crm:
        processes = start_processes(env, port, folder)
        try:
            wait_for(f"http://127.0.0.1:{port}/login/")
            connection, config, first, channel = setup(crm)
            print(f"bench/latency.py: {args.changes} changes each way at {args.rate:g}/s; first sync {first.status}, "
                  f"{first.added} customers; channel {'live' if channel and not channel.problem else 'NOT live'}; "
                  f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
            bench = Bench(args, crm, connection, config)
            time.sleep(1)
            crm_to_erp = bench.crm_edits(0)
            print(f"\n[crm -> erp] {figures(crm_to_erp)}")
            erp_to_crm = bench.erp_saves(args.changes)
            print(f"[erp -> crm] {figures(erp_to_crm)}")
            exact = lossy(bench, crm, args)
            print(f"\n  {'PASS' if p95(crm_to_erp) <= TARGET_P95 else 'MISS'} crm->erp p95 <= {TARGET_P95:g} s; "
                  f"{'PASS' if p95(erp_to_crm) <= TARGET_P95 else 'MISS'} erp->crm p95 <= {TARGET_P95:g} s; "
                  f"{'PASS' if exact else 'MISS'} exact after the lossy round")
            print(f"latency p95 crm->erp {p95(crm_to_erp):.2f} s, erp->crm {p95(erp_to_crm):.2f} s; "
                  f"lossy: {'exact' if exact else 'NOT EXACT'}")
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    return 0


def lossy(bench: Bench, crm, args) -> bool:
    from sync.engine import run as engine

    crm.config(notify_drop_rate=0.3, notify_duplicate_rate=0.1)
    calls = crm.notifications()["counts"]
    arrived = bench.crm_edits(2 * args.changes, timeout=15)
    saved = bench.erp_saves(3 * args.changes, timeout=15)
    time.sleep(3)
    counts = crm.notifications()["counts"]
    print(f"\n[lossy] callbacks dropped {counts['dropped'] - calls['dropped']}, sent twice "
          f"{counts['duplicated'] - calls['duplicated']}; arrived by callback before the poll: crm->erp "
          f"{len(arrived)}, erp->crm {len(saved)} of {args.changes}")
    crm.config(notify_drop_rate=0.0, notify_duplicate_rate=0.0)
    run = engine.run_now(module_config=bench.config, trigger="scheduled")
    differences = bench.both_sides_match()
    print(f"  then one scheduled run: {run.status}, {run.updated} updated, {run.pushed} pushed; "
          f"{len(differences)} fields differ" + "".join(f"\n    {d}" for d in differences[:10]))
    return run.status == "succeeded" and not differences


if __name__ == "__main__":
    sys.exit(main())
