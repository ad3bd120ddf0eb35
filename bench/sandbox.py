"""How fast is the CRM sandbox with a large org? A script, not a test.

    .venv/bin/python bench/sandbox.py [--accounts 100000] [--upserts 30]

It seeds a temporary sandbox with 100,000 accounts (timed), starts the server on a free loopback port,
walks every page of Accounts with page_token (200 records a page, sorted by Modified_Time as a sync
does), then times 100-record upserts keyed by a unique custom field (inserts first, then updates).
It prints the seed time, median and 95th percentile per page, and the median upsert, with PASS or
MISS against the targets. Times are client-side wall times over real HTTP on loopback.

Exit status: 0 when it ran (whether or not the targets held), 2 when it could not run.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from crm_sandbox import seed as seeding  # noqa: E402
from crm_sandbox.process import SandboxProcess  # noqa: E402
from crm_sandbox.store import Store  # noqa: E402

SEED_TARGET_S = 60
PAGE_MEDIAN_TARGET_MS = 20
UPSERT_MEDIAN_TARGET_MS = 50


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _verdict(value: float, target: float) -> str:
    return "PASS" if value < target else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100000)
    parser.add_argument("--upserts", type=int, default=30, help="number of 100-record upsert calls")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crm-sandbox-bench-") as folder:
        data = str(Path(folder) / "bench.sqlite3")
        sizes = seeding.parse_sizes(f"accounts={args.accounts}")
        started = time.perf_counter()
        store = Store(data)
        seeding.seed(store, "demo", sizes)
        store.close()
        seed_s = time.perf_counter() - started
        print(
            f"seed: {args.accounts} accounts in {seed_s:.1f} s  [{_verdict(seed_s, SEED_TARGET_S)} < {SEED_TARGET_S} s]"
        )

        try:
            sandbox = SandboxProcess(data, seed="demo", seed_size=f"accounts={args.accounts}").start()
        except RuntimeError as error:
            print(f"could not start the sandbox: {error}", file=sys.stderr)
            return 2
        try:
            session = requests.Session()
            session.headers.update(sandbox.auth_headers())
            base = f"{sandbox.base_url}/crm/v8"
            page_times, seen = [], 0
            params = {
                "fields": "Account_Name,Phone,Industry,Owner,Modified_Time",
                "per_page": 200,
                "sort_by": "Modified_Time",
                "sort_order": "asc",
            }
            while True:
                begin = time.perf_counter()
                response = session.get(f"{base}/Accounts", params=params, timeout=30)
                page_times.append(time.perf_counter() - begin)
                response.raise_for_status()
                body = response.json()
                seen += len(body["data"])
                if not body["info"]["more_records"]:
                    break
                params = {**params, "page_token": body["info"]["next_page_token"]}
            median = statistics.median(page_times)
            p95 = statistics.quantiles(page_times, n=20)[18]
            print(
                f"pages: {len(page_times)} pages, {seen} records; median {_ms(median)} ms, p95 {_ms(p95)} ms"
                f"  [{_verdict(median * 1000, PAGE_MEDIAN_TARGET_MS)} < {PAGE_MEDIAN_TARGET_MS} ms median]"
            )

            created = session.post(
                f"{base}/settings/fields",
                params={"module": "Accounts"},
                timeout=30,
                json={
                    "fields": [
                        {
                            "field_label": "ERP Id",
                            "data_type": "text",
                            "length": 64,
                            "unique": {"casesensitive": False},
                        }
                    ]
                },
            )
            created.raise_for_status()
            upsert_times = []
            for call in range(args.upserts):
                # Half of the keys repeat the previous call's (updates), half are new (inserts).
                batch = [
                    {
                        "Account_Name": f"Bench Account {call}-{n}",
                        "ERP_Id": f"erp-{(call * 50) + n}",
                        "Phone": f"+1 555 {call:02d}{n:02d}",
                        "Employees": n,
                    }
                    for n in range(100)
                ]
                begin = time.perf_counter()
                response = session.post(
                    f"{base}/Accounts/upsert",
                    timeout=30,
                    json={"data": batch, "duplicate_check_fields": ["ERP_Id"]},
                )
                upsert_times.append(time.perf_counter() - begin)
                if response.status_code != 200:
                    print(
                        f"upsert {call} answered {response.status_code}: {response.text[:300]}",
                        file=sys.stderr,
                    )
                    return 2
            median = statistics.median(upsert_times)
            print(
                f"upserts: {len(upsert_times)} calls of 100 records; median {_ms(median)} ms, max "
                f"{_ms(max(upsert_times))} ms  [{_verdict(median * 1000, UPSERT_MEDIAN_TARGET_MS)} < "
                f"{UPSERT_MEDIAN_TARGET_MS} ms median]"
            )
        finally:
            sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
