"""Many organizations on many workers: real Celery worker processes on Redis and PostgreSQL. A script, not
a test.

    .venv/bin/python bench/many_orgs.py [--orgs 20] [--accounts 5000] [--workers 1,2,4]

Each organization is connected to a CRM organization of its own (one CRM sandbox process each, seeded
with `--accounts` accounts) and its customers module (Accounts) is configured; all are queued at once.
Scenarios, each on an empty ERP (links, customers and cursors cleared), a worker started with
`--concurrency N` for each N of `--workers`:

1. healthy   the organizations alone: total records per second, the scaling factor against one process,
             and the longest and median wait of an organization before its run started;
2. broken    on one process, the same plus one organization whose CRM answers 5xx to everything: the
             others' waits and total time beside scenario 1's (its run waits for its CRM without
             holding the worker);
3. big       on one process, the same plus one organization with `--big` accounts queued first (a long
             first load, through Bulk Read): the others' longest wait beside scenario 1's (the long run
             gives its worker back every CRM_RUN_SLICE_SECONDS, set to 2 here).

PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/erp_bench_many_orgs; the name must end
with "bench_many_orgs", the script drops it); Redis: CELERY_BROKER_URL (default redis://127.0.0.1:6379/13,
flushed). Exit status 0 when it ran, 2 when it could not.
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

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/erp_bench_many_orgs"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"
SLICE_SECONDS = 2


def prepare_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not name.endswith("bench_many_orgs"):
        raise SystemExit(f"refusing to drop {name!r}: the database name must end with 'bench_many_orgs'")
    with psycopg.connect(f"{url.rsplit('/', 1)[0]}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_env() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    broker = os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER_URL)
    if not url.startswith("postgres") or not broker.startswith("redis"):
        raise SystemExit("bench/many_orgs.py measures PostgreSQL and Redis: set DATABASE_URL and CELERY_BROKER_URL")
    os.environ.update(DATABASE_URL=url, CELERY_BROKER_URL=broker, DJANGO_SETTINGS_MODULE="erp_crm.settings",
                      CRM_ALLOW_LOOPBACK="1", LOG_LEVEL="WARNING", CRM_RUN_SLICE_SECONDS=str(SLICE_SECONDS))
    local_production_env()
    return url, broker


class Worker:
    """`celery worker` in a process of its own, as deployed."""

    def __init__(self, concurrency: int, log: Path):
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "erp_crm", "worker", "--concurrency", str(concurrency),
             "--pool", "prefork", "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
             "--loglevel", "WARNING", "--hostname", f"bench-{concurrency}@%h"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, app, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the worker exited")
            if app.control.ping(timeout=0.5):
                return
        raise RuntimeError("the worker did not answer")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--big", type=int, default=50000, help="accounts of the big organization (scenario 3)")
    args = parser.parse_args()
    url, broker = setup_env()
    try:
        prepare_database(url)
        import redis

        redis.Redis.from_url(broker).flushdb()
    except Exception as error:  # noqa: BLE001 - say why the bench could not run
        print(f"could not prepare the database or the broker: {error}", file=sys.stderr)
        return 2

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)
    from crm_sandbox.process import SandboxProcess

    folder = Path(tempfile.mkdtemp(prefix="bench-many-orgs-"))
    started = time.perf_counter()
    sandboxes = [SandboxProcess(str(folder / f"crm-{n}.sqlite3"), seed="demo", start_timeout=600,
                                seed_size=f"accounts={args.accounts},contacts=0,vendors=0,products=0")
                 for n in range(args.orgs)]
    broken = SandboxProcess(str(folder / "crm-broken.sqlite3"), seed="demo", start_timeout=600,
                            seed_size="accounts=100,contacts=0,vendors=0,products=0")
    big = SandboxProcess(str(folder / "crm-big.sqlite3"), seed="demo", start_timeout=900,
                         seed_size=f"accounts={args.big},contacts=0,vendors=0,products=0")
    running = []
    try:
        for sandbox in [*sandboxes, broken, big]:
            running.append(sandbox.start())
        print(f"bench/many_orgs.py: {args.orgs} organizations x {args.accounts} accounts; {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.2f}; {len(running)} CRM sandboxes started in "
              f"{time.perf_counter() - started:.0f} s")
        return run_scenarios(args, sandboxes, broken, big, folder)
    finally:
        for sandbox in running:
            sandbox.stop()


def connect_all(sandboxes: list, names: list[str]) -> list:
    from integration import services
    from integration.crm.client import CrmClient
    from integration.models import ModuleConfig
    from organizations.models import Organization

    configs = []
    for sandbox, name in zip(sandboxes, names, strict=True):
        organization = Organization.objects.create(name=name, email=f"{name.lower().replace(' ', '-')}@example.test",
                                                   country="United States", base_currency="USD")
        probe = CrmClient(api_domain=sandbox.base_url, accounts_url=sandbox.base_url, client_id=sandbox.client_id,
                          client_secret=sandbox.client_secret, refresh_token=sandbox.refresh_token, allow_loopback=True)
        connection = services.connection_create(
            organization=organization, user=None, crm_org=probe.org(), api_domain=sandbox.base_url,
            accounts_url=sandbox.base_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret,
            refresh_token=sandbox.refresh_token)
        configs.append(ModuleConfig.objects.create(connection=connection, module="customers", configured=True,
                                                   crm_source="accounts"))
    return configs


def clear_erp() -> None:
    from customers.models import Customer
    from integration.models import ModuleConfig
    from sync.models import RecordLink, SyncRun

    RecordLink.objects.all().delete()
    Customer.objects.all().delete()
    SyncRun.objects.all().delete()
    ModuleConfig.objects.update(crm_cursor={})


def queue_all(configs: list) -> list:
    from sync import enqueue

    runs = []
    for config in configs:
        run, started, message = enqueue.sync_now(module_config=config, trigger="instant")
        if not started:
            raise RuntimeError(message)
        runs.append(run)
    return runs


def wait_done(runs: list, timeout: float = 1800) -> None:
    from sync.models import SyncRun

    ids = [run.pk for run in runs]
    deadline = time.monotonic() + timeout
    while SyncRun.objects.filter(pk__in=ids, status__in=("queued", "running")).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("runs did not finish in time")
        time.sleep(0.2)


def measure(app, concurrency: int, configs: list, log: Path, *, first: list | None = None,
            extra: list | None = None) -> dict:
    """Queue `first` (not measured), then every config, then `extra` (not waited for); one worker."""
    from sync.models import SyncRun

    clear_erp()
    worker = Worker(concurrency, log)
    try:
        worker.wait_ready(app)
        begin = time.time()
        queue_all(first or [])
        runs = queue_all(configs)
        queue_all(extra or [])
        wait_done(runs)
        end = time.time()
    finally:
        worker.stop()
    done = list(SyncRun.objects.filter(pk__in=[r.pk for r in runs]))
    waits = [(r.started_at - r.queued_at).total_seconds() for r in done]
    records = sum(r.added + r.updated for r in done)
    return {"wall": end - begin, "records": records, "rate": records / (end - begin),
            "longest_wait": max(waits), "median_wait": statistics.median(waits),
            "failed": sum(r.status != "succeeded" for r in done)}


def line(name: str, result: dict) -> str:
    return (f"  {name}: {result['records']} records in {result['wall']:.1f} s = {result['rate']:.0f} records/s; "
            f"wait before start: longest {result['longest_wait']:.1f} s, median {result['median_wait']:.1f} s; "
            f"{result['failed']} runs not succeeded")


def run_scenarios(args, sandboxes: list, broken, big, folder: Path) -> int:
    from erp_crm.celery import app

    configs = connect_all(sandboxes, [f"Org {n:02d}" for n in range(len(sandboxes))])
    [broken_config] = connect_all([broken], ["Org Broken"])
    [big_config] = connect_all([big], ["Org Big"])
    log = folder / "worker.log"
    results = {}
    print("\n[healthy] all organizations due at once")
    for concurrency in [int(n) for n in args.workers.split(",")]:
        results[concurrency] = measure(app, concurrency, configs, log)
        factor = results[concurrency]["rate"] / results[min(results)]["rate"]
        print(line(f"{concurrency} worker process{'es' if concurrency > 1 else ''}", results[concurrency])
              + f"; scaling x{factor:.2f}")
    one = results[min(results)]

    print("\n[broken] one more organization whose CRM answers 5xx to everything, one worker process")
    broken.config(error_rate_5xx=1.0)
    with_broken = measure(app, 1, configs, log, first=[broken_config])
    print(line("with it", with_broken))
    print(f"  beside the healthy run: total time x{with_broken['wall'] / one['wall']:.2f}, longest wait "
          f"{with_broken['longest_wait']:.1f} s vs {one['longest_wait']:.1f} s")

    print(f"\n[big] one more organization with {args.big} accounts queued first, one worker process "
          f"(CRM_RUN_SLICE_SECONDS={SLICE_SECONDS})")
    with_big = measure(app, 1, configs, log, first=[big_config])
    print(line("the others", with_big))
    print(f"  longest wait of the others {with_big['longest_wait']:.1f} s vs {one['longest_wait']:.1f} s without it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
