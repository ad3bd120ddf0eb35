"""How fast and how frugal is the sync engine with a large CRM? A script, not a test.

    .venv/bin/python bench/sync.py [--accounts 150000] [--contacts 100000] [--push 10000]

PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench_sync; the name must end
with "bench_sync" because the script drops and recreates it) against a CRM sandbox seeded with
`--seed-size`, no injected latency. Scenarios, in order, on one "Accounts & their Contacts" module:

1. initial   the first fetch of every account and contact (contacts with an account become contact
             persons, the others individual customers);
2. unchanged a run with nothing changed in the CRM;
3. changed   a run after 1 % of accounts and contacts were edited in the CRM;
4. push      two-way on, `--push` ERP customers edited, one run.

Per scenario: wall time, records per second, API calls per CRM module (from the sandbox's counters),
SQL statements (through Django's cursor; the COPY that inserts new rows on PostgreSQL is not among
them), the worker's resident memory (peak so far, and sampled through the initial fetch to show
whether it stays flat), with PASS or MISS per target. Run 3 waits `--settle` seconds after the CRM
edits, as a scheduled run would come later: a second read more than a minute after it ended is not
read again, so run 4 then reads nothing twice. Exit status 0 when it ran, 2 when it could not.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from local_env import local_production_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/erp_bench_sync"
RATE_TARGET = 2000  # records per second, initial fetch
FAST_TARGET = 5000  # ... end to end, with Bulk Read
FLOOR_SHARE = 0.5  # ... as a share of the read floor (a bare requests loop over the same records)
JOB_RECORDS = 200_000  # records per Bulk Read job: the initial fetch's credits are 50 a job, plus 50 for the rest
INCREMENTAL_TARGET_S = 10
UNCHANGED_TARGET_S = 1


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def prepare_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not name.endswith("bench_sync"):
        raise SystemExit(f"refusing to drop {name!r}: the database name must end with 'bench_sync'")
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def read_floor(crm, module: str, fields: list[str]) -> int:
    """The read floor: a bare `requests` loop over the module with page_token (sorted by modification
    time, a new chain from the last time seen at the 100,000-record window), nothing else done with the
    records. Returns how many records it read."""
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Zoho-oauthtoken {crm.access_token(fresh=True)}"}
    url = f"{crm.base_url}/crm/v8/{module}"
    read, since, again = 0, None, set()
    while True:
        chain, page_token, last, last_ids = 0, None, None, set()
        while True:
            params = {"fields": ",".join(fields), "per_page": 200, "sort_by": "Modified_Time", "sort_order": "asc"}
            if page_token:
                params["page_token"] = page_token
            response = session.get(url, params=params, timeout=60,
                                   headers={**headers, **({"If-Modified-Since": since} if since else {})})
            if response.status_code in (204, 304):
                return read
            body = response.json()
            records = body.get("data") or []
            read += sum(1 for record in records if record["id"] not in again)
            chain += len(records)
            for record in records:
                if record["Modified_Time"] != last:
                    last, last_ids = record["Modified_Time"], set()
                last_ids.add(record["id"])
            if not body["info"].get("more_records"):
                return read
            page_token = body["info"]["next_page_token"]
            if chain + 200 > 100_000:
                # The next chain starts a second before the last time seen (If-Modified-Since is "after"),
                # so that records sharing that second are read; those read already are not counted twice.
                since = (datetime.datetime.fromisoformat(last) - datetime.timedelta(seconds=1)).isoformat()
                again = last_ids
                break


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=150000)
    parser.add_argument("--contacts", type=int, default=100000)
    parser.add_argument("--push", type=int, default=10000, help="ERP customers edited before the push run")
    parser.add_argument("--changed", type=float, default=0.01, help="share of CRM records edited for run 3")
    parser.add_argument("--settle", type=float, default=61,
                        help="seconds between the CRM edits and run 3, as between edits and a scheduled run; "
                             "a second read more than a minute after it passed is not read again")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith("postgres"):
        print("bench/sync.py measures PostgreSQL; set DATABASE_URL to a postgres:// URL", file=sys.stderr)
        return 2
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp_crm.settings")
    os.environ.setdefault("CRM_ALLOW_LOOPBACK", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    local_production_env()
    try:
        prepare_database(url)
    except Exception as error:  # noqa: BLE001 - say why the bench could not run
        print(f"could not prepare {url}: {error}", file=sys.stderr)
        return 2

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection as db
    from django.utils import timezone

    from crm_sandbox.process import SandboxProcess
    from customers.models import ContactPerson, Customer
    from integration import services
    from integration.crm.client import CrmClient
    from integration.models import ModuleConfig
    from organizations.models import Organization
    from sync.engine import run as engine

    call_command("migrate", verbosity=0, skip_checks=True)
    print(f"bench/sync.py: {args.accounts} accounts, {args.contacts} contacts; PostgreSQL {url.rsplit('/', 1)[1]}; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory(prefix="crm-sandbox-bench-") as folder:
        started = time.perf_counter()
        sizes = f"accounts={args.accounts},contacts={args.contacts},vendors=0,products=0"
        try:
            crm = SandboxProcess(str(Path(folder) / "crm.sqlite3"), seed="demo", seed_size=sizes,
                                 start_timeout=900).start()
        except RuntimeError as error:
            print(f"could not start the sandbox: {error}", file=sys.stderr)
            return 2
        print(f"sandbox seeded and started in {time.perf_counter() - started:.1f} s")
        try:
            organization = Organization.objects.create(name="Bench Sync Co", email="bench@example.test",
                                                       country="United States", base_currency="USD")
            probe = CrmClient(api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id,
                              client_secret=crm.client_secret, refresh_token=crm.refresh_token, allow_loopback=True)
            connection = services.connection_create(
                organization=organization, user=None, crm_org=probe.org(), api_domain=crm.base_url,
                accounts_url=crm.base_url, client_id=crm.client_id, client_secret=crm.client_secret,
                refresh_token=crm.refresh_token)
            config = ModuleConfig.objects.create(connection=connection, module="customers", configured=True,
                                                 crm_source="accounts_and_contacts", include_orphan_contacts=True)
            counter = QueryCounter()

            def scenario(name: str, sampler: bool = False):
                crm.reset_calls()
                counter.count = 0
                samples: list[tuple[int, float]] = []
                stop = threading.Event()

                def sample():
                    from sync.models import SyncRun

                    while not stop.wait(1.0):
                        latest = SyncRun.objects.filter(module_config=config).order_by("-pk").first()
                        samples.append((latest.progress_done if latest else 0, rss_mb()))

                thread = threading.Thread(target=sample, daemon=True) if sampler else None
                if thread:
                    thread.start()
                begin = time.perf_counter()
                with db.execute_wrapper(counter):
                    run = engine.run_now(module_config=config, trigger="instant")
                wall = time.perf_counter() - begin
                stop.set()
                if thread:
                    thread.join()
                calls = crm.calls()["calls"]
                per_module = {m: sum(n for c, n in calls.items() if c.split(" ")[1].startswith(f"/crm/v8/{m}"))
                              for m in ("Accounts", "Contacts")}
                records_calls = {m: calls.get(f"GET /crm/v8/{m}", 0) for m in ("Accounts", "Contacts")}
                records = run.progress_done
                print(f"\n[{name}] {run.status} {run.failure_reason or ''}".rstrip())
                print(f"  wall {wall:.2f} s, {records} records, {records / wall if wall else 0:.0f} records/s; "
                      f"added {run.added}, updated {run.updated}, pushed {run.pushed}, failed {run.failed}")
                print(f"  API calls {run.api_calls} (per module {per_module}; records calls {records_calls}; "
                      f"all {dict(sorted(calls.items()))})")
                print(f"  SQL queries {counter.count}; memory now {rss_mb():.0f} MB, peak {peak_mb():.0f} MB")
                if samples:
                    picks = [samples[min(len(samples) - 1, int(len(samples) * q))] for q in (0.1, 0.25, 0.5, 0.75)]
                    print("  memory during the run: " + ", ".join(f"{done} done: {mb:.0f} MB" for done, mb in picks))
                return run, wall, per_module, records_calls

            total = args.accounts + args.contacts
            from sync.engine.adapters import reads_for
            from sync.engine.context import RunContext
            from sync.models import SyncRun

            probe_run = SyncRun(module_config=config, trigger="instant")
            context = RunContext(run=probe_run, client=probe)
            floor_records, begin = 0, time.perf_counter()
            for read in reads_for(config):
                floor_records += read_floor(crm, read.crm_module, context.fetch_fields(read))
            floor = floor_records / (time.perf_counter() - begin)
            print(f"\n[read floor] a bare requests page_token loop over the same fields: {floor_records} records, "
                  f"{floor:.0f} records/s")

            run, wall, per_module, _ = scenario("initial fetch", sampler=True)
            budget = {"Accounts": math.ceil(args.accounts / 200) + 10, "Contacts": math.ceil(args.contacts / 200) + 10}
            rate = total / wall
            print(f"  {verdict(rate >= RATE_TARGET)} {rate:.0f} >= {RATE_TARGET} records/s; "
                  + "; ".join(f"{verdict(per_module[m] <= budget[m])} {m} {per_module[m]} <= {budget[m]} calls"
                              for m in budget))
            from sync.models import RecordLink

            linked = RecordLink.objects.filter(connection=connection).count()
            customers = Customer.objects.filter(organization=organization).count()
            persons = ContactPerson.objects.filter(customer__organization=organization).count()
            distinct = RecordLink.objects.filter(connection=connection).values("crm_module", "crm_id").distinct().count()
            made = customers + persons  # contacts with an account are contact persons, the others customers
            print(f"  {verdict(linked == made == distinct == total)} exact count: {customers} customers and "
                  f"{persons} contact persons, {linked} links ({distinct} distinct CRM records), {total} CRM records")
            ratio = rate / floor if floor else 0
            credits_target = 50 * (math.ceil(args.accounts / JOB_RECORDS) + math.ceil(args.contacts / JOB_RECORDS)) + 50
            print(f"  initial {rate:.0f} records/s, floor {floor:.0f} records/s, ratio {ratio:.2f}, credits {run.credits}")
            print(f"  {verdict(rate >= FAST_TARGET)} {rate:.0f} >= {FAST_TARGET} records/s; "
                  f"{verdict(ratio >= FLOOR_SHARE)} ratio {ratio:.2f} >= {FLOOR_SHARE}; "
                  f"{verdict(run.credits <= credits_target)} {run.credits} <= {credits_target} credits")

            run, wall, per_module, records_calls = scenario("no changes")
            print(f"  {verdict(wall < UNCHANGED_TARGET_S)} {wall:.2f} s < {UNCHANGED_TARGET_S} s; "
                  f"{verdict(all(n == 1 for n in records_calls.values()))} one records call per module "
                  f"{records_calls} (answered 304: {run.updated == run.added == 0})")

            changed = {"Accounts": int(args.accounts * args.changed), "Contacts": int(args.contacts * args.changed)}
            reader = CrmClient(api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id,
                               client_secret=crm.client_secret, refresh_token=crm.refresh_token, allow_loopback=True)
            for module, count in changed.items():
                ids = []
                for page in reader.iter_pages(module, fields=["id"], sort_by="id", sort_order="asc"):
                    ids += [r["id"] for r in page.records]
                    if len(ids) >= count * 7:
                        break
                picked = ids[::7][:count]
                for start in range(0, len(picked), 5000):
                    crm.bulk(module, update=[{"id": i, "Phone": f"+1 555 {n:06d}"}
                                             for n, i in enumerate(picked[start:start + 5000])])
            time.sleep(args.settle)
            run, wall, per_module, _ = scenario(f"changed ({args.changed:.0%} of the CRM edited)")
            print(f"  {verdict(wall < INCREMENTAL_TARGET_S)} {wall:.2f} s < {INCREMENTAL_TARGET_S} s; "
                  + "; ".join(f"{verdict(per_module[m] <= math.ceil(changed[m] / 200) + 10)} {m} {per_module[m]} "
                              f"<= {math.ceil(changed[m] / 200) + 10} calls" for m in changed))

            ModuleConfig.objects.filter(pk=config.pk).update(direction="both")
            config.refresh_from_db()
            # The first two-way run pushes what the ERP has that the CRM has not; here that is nothing
            # new, so the run measures only the edited customers.
            edited = list(Customer.objects.filter(organization=organization, customer_type="business")
                          .order_by("pk").values_list("pk", flat=True)[: args.push])
            for start in range(0, len(edited), 5000):
                Customer.objects.filter(pk__in=edited[start:start + 5000]).update(
                    billing_city="Pushed City", updated_at=timezone.now())
            run, wall, per_module, _ = scenario(f"push ({len(edited)} ERP customers edited)")
            budget = math.ceil(len(edited) / 100) + 10
            print(f"  {verdict(run.api_calls <= budget)} {run.api_calls} <= {budget} API calls; pushed {run.pushed}")
        finally:
            crm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
