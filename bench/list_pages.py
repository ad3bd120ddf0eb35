"""How fast are the list pages of a large organization? A script, not a test.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/erp_bench .venv/bin/python bench/list_pages.py

It fills its own PostgreSQL database (default `erp_bench`; reused when it already holds the same
sizes) with one organization of 100,000 customers, 10,000 vendors and 10,000 items, logs a finance
user in through the Django test client and requests the list pages: no search, a search that matches
a few rows and one that matches many, the active and inactive views and the sorts, each on page 1
and on a deep page. For each it prints the median and 95th-percentile server time, the time spent in
SQL and the number of SQL queries, then PASS or MISS per target. See bench/README.md.

Exit status: 0 when it ran (whether or not the targets held), 2 when it could not run.
"""

import argparse
import datetime
import json
import math
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/erp_bench"
ORGANIZATION_NAME = "Bench Co"
USERNAME = "bench-finance"

MEDIAN_TARGET_MS = 50
P95_TARGET_MS = 100

# Words for names: combinations are common enough that a full name repeats a few times in 100,000
# rows (the "few" search), a suffix is shared by thousands (the "many" search).
FIRST_NAMES = (
    "Amara Lucas Mei Jonas Priya Diego Hannah Omar Sofia Liam Aisha Noah Elena Mateo Grace Yusuf Chloe "
    "Ravi Ingrid Tomas Leila Marcus Nadia Felix Zara Hugo Anika Samuel Ines Kenji Olga Pablo Fatima Erik "
    "Lena Arjun Camila Viktor Nora Idris Maya Oscar Rosa Tariq Julia Emil Selin Andre Keiko Bruno"
).split()
LAST_NAMES = (
    "Okafor Ferreira Tanaka Berg Nair Morales Schulz Haddad Rossi Walsh Bello Kim Petrova Silva Mensah "
    "Demir Laurent Gupta Lindqvist Novak Rahman Costa Weber Ito Kowalski Duarte Sato Jensen Ali Moreau "
    "Santos Fischer Quinn Ivanova Park Romero Hansen Chen Dubois Murphy Ortiz Nakamura Larsen Yilmaz "
    "Brennan Castillo Mwangi Horvat Engel Varga"
).split()
NAME_WORDS = (
    "Northwind Blue Harbor Cedar Pine Atlas Brightline Maple Quartz Riverbend Summit Orchid Ironclad "
    "Lumen Greenfield Keystone Nimbus Pioneer Silverline Willow Granite Beacon Crescent Vertex Evergreen "
    "Delta Meridian Falcon Horizon Juniper Copper Sterling Redwood Lakeside Harbor Aurora Cobalt Ember "
    "Sequoia Tidewater Highland Prairie Canyon Coastal Golden Oak Birch Alder Amber Onyx Sapphire Hollow"
).split()
NAME_NOUNS = (
    "Traders Logistics Furniture Dental Solar Bakery Analytics Veterinary Outdoor Hotels Security Eyewear "
    "Farms Clinic Builders Cloud Brewing Robotics Travel Foods Textiles Motors Media Pharma Marine Energy "
    "Printing Apparel Studios Labs Roofing Plumbing Optics Coffee Cycles Paper Glass Tools Dairy Timber"
).split()
SUFFIXES = ("Ltd", "Inc", "GmbH", "LLC", "& Co", "Group", "Partners", "Holdings", "Trading", "Supply")
CITIES = (
    ("Boston", "MA", "02110"),
    ("Austin", "TX", "73301"),
    ("Denver", "CO", "80202"),
    ("Seattle", "WA", "98101"),
    ("Chicago", "IL", "60601"),
    ("Miami", "FL", "33101"),
)
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP", "CAD")
PRODUCTS = (
    "desk chair lamp monitor cable dock keyboard mouse headset shelf cabinet printer toner paper "
    "notebook pen router switch tablet charger"
).split()
ITEM_ADJECTIVES = (
    "standard premium compact wireless ergonomic heavy-duty portable classic deluxe basic".split()
)


# ---------------------------------------------------------------------------------------------------
# Setup: settings, database, data
# ---------------------------------------------------------------------------------------------------


class CannotRun(Exception):
    """The benchmark could not run (no PostgreSQL, a page failed): exit status 2."""


def configure_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "erp_crm.settings"
    os.environ.setdefault("DEBUG", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise CannotRun(f"DATABASE_URL must point at PostgreSQL, not {connection.vendor}.")
    if not connection.settings_dict["NAME"].endswith("bench"):
        # The script drops and recreates the database: keep it away from real ones.
        raise CannotRun(f"The database name must end with 'bench', not {connection.settings_dict['NAME']!r}.")


def _server_connect():
    """A connection to the server's maintenance database, to create or drop the bench database."""
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    params = {
        "dbname": "postgres",
        "user": settings["USER"],
        "host": settings["HOST"],
        "port": settings["PORT"],
    }
    if settings["PASSWORD"]:
        params["password"] = settings["PASSWORD"]
    try:
        return psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)
    except psycopg.OperationalError as error:
        raise CannotRun(f"Cannot reach PostgreSQL: {error}") from error


def create_database(*, drop: bool) -> None:
    from django.db import connection
    from psycopg import sql

    name = connection.settings_dict["NAME"]
    connection.close()
    with _server_connect() as server:
        if drop:
            server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


@dataclass
class Sizes:
    customers: int
    vendors: int
    items: int


def current_sizes() -> Sizes | None:
    from customers.models import Customer
    from items.models import Item
    from organizations.models import Organization
    from vendors.models import Vendor

    organization = Organization.objects.filter(name=ORGANIZATION_NAME).first()
    if organization is None:
        return None
    return Sizes(
        customers=Customer.objects.filter(organization=organization).count(),
        vendors=Vendor.objects.filter(organization=organization).count(),
        items=Item.objects.filter(organization=organization).count(),
    )


def copy_rows(model, rows) -> int:
    """Write `rows` (dicts of attname -> value) with COPY; fields left out get their model default."""
    from django.db import connection
    from django.db.models import JSONField

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    json_fields = {f.attname for f in fields if isinstance(f, JSONField)}
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = []
            for f in fields:
                value = row.get(f.attname, defaults[f.attname])
                if value is None and not f.null:
                    raise CannotRun(f"{model.__name__}.{f.name} needs a value in the bench data.")
                values.append(json.dumps(value) if f.attname in json_fields else value)
            copy.write_row(values)
            count += 1
    return count


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _timestamps(rng: random.Random, index: int, total: int, now: datetime.datetime):
    """Records created evenly over five years, in id order, and updated up to 400 days later."""
    span = datetime.timedelta(days=5 * 365)
    created = now - span + span * (index / total) + datetime.timedelta(seconds=rng.randint(0, 59))
    return created, created + datetime.timedelta(days=rng.randint(0, 400))


def customer_rows(*, organization_id: int, count: int, rng: random.Random, now: datetime.datetime):
    for index in range(count):
        created, updated = _timestamps(rng, index, count, now)
        city, state, zip_code = rng.choice(CITIES)
        if rng.random() < 0.3:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            display_name = f"{first} {last}"
            company_name = ""
            email = f"{first.lower()}.{last.lower()}{index % 997}@mail.example"
            customer_type = "individual"
        else:
            word, noun, suffix = rng.choice(NAME_WORDS), rng.choice(NAME_NOUNS), rng.choice(SUFFIXES)
            display_name = f"{word} {noun} {suffix}"
            company_name = display_name
            email = (
                f"{rng.choice(('accounts', 'billing', 'ap', 'finance'))}@{_slug(word + noun)}{index}.example"
            )
            customer_type = "business"
        yield {
            "organization_id": organization_id,
            "display_name": display_name,
            "customer_type": customer_type,
            "company_name": company_name,
            "email": email,
            "phone": f"+1 555 {index // 10000:02d}{index % 10000:04d}",
            "billing_street": f"{rng.randint(1, 999)} Main Street",
            "billing_city": city,
            "billing_state": state,
            "billing_zip": zip_code,
            "billing_country": "United States",
            "currency": rng.choice(CURRENCIES),
            "is_active": rng.random() >= 0.1,
            "created_at": created,
            "updated_at": updated,
        }


def vendor_rows(*, organization_id: int, count: int, rng: random.Random, now: datetime.datetime):
    for index in range(count):
        created, updated = _timestamps(rng, index, count, now)
        word, noun, suffix = rng.choice(NAME_WORDS), rng.choice(NAME_NOUNS), rng.choice(SUFFIXES)
        name = f"{word} {noun} {suffix}"
        yield {
            "organization_id": organization_id,
            "display_name": name,
            "company_name": name,
            "email": f"sales@{_slug(word + noun)}{index}.example",
            "phone": f"+1 555 {index:06d}",
            "city": rng.choice(CITIES)[0],
            "country": "United States",
            "currency": rng.choice(CURRENCIES),
            "is_active": rng.random() >= 0.1,
            "created_at": created,
            "updated_at": updated,
        }


def item_rows(*, organization_id: int, count: int, rng: random.Random, now: datetime.datetime):
    from decimal import Decimal

    for index in range(count):
        created, updated = _timestamps(rng, index, count, now)
        adjective, product = rng.choice(ITEM_ADJECTIVES), rng.choice(PRODUCTS)
        service = rng.random() < 0.2
        rate = Decimal(rng.randint(100, 100000)) / 100
        yield {
            "organization_id": organization_id,
            "name": f"{adjective.capitalize()} {product} {index % 500}",
            "sku": f"SKU-{index:06d}",
            "item_type": "service" if service else "goods",
            "rate": rate,
            "purchase_rate": Decimal(0) if service else (rate * Decimal("0.6")).quantize(Decimal("0.01")),
            "unit": "hour" if service else "pcs",
            "description": f"{adjective} {product} for the office",
            "is_active": rng.random() >= 0.1,
            "created_at": created,
            "updated_at": updated,
        }


def seed(sizes: Sizes) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from customers.models import Customer
    from items.models import Item
    from organizations.models import Role
    from organizations.services import member_create, organization_create
    from vendors.models import Vendor

    rng = random.Random(20261127)
    now = timezone.now()
    with transaction.atomic():
        organization = organization_create(
            name=ORGANIZATION_NAME,
            email="finance@bench.example",
            country="United States",
            base_currency="USD",
        )
        member_create(
            organization=organization, username=USERNAME, password="bench-password-1!x", role=Role.FINANCE
        )
        for model, rows, count in (
            (Customer, customer_rows, sizes.customers),
            (Vendor, vendor_rows, sizes.vendors),
            (Item, item_rows, sizes.items),
        ):
            start = time.perf_counter()
            copy_rows(model, rows(organization_id=organization.pk, count=count, rng=rng, now=now))
            print(f"  {count:>7,} {model._meta.verbose_name_plural} in {time.perf_counter() - start:.1f} s")
    # Fresh statistics and a visibility map, as autovacuum would leave them on a live database.
    with connection.cursor() as cursor:
        for model in (Customer, Vendor, Item):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def prepare(sizes: Sizes, *, fresh: bool) -> None:
    create_database(drop=fresh)
    migrate()
    found = current_sizes()
    if found == sizes:
        print(
            f"Reusing {ORGANIZATION_NAME!r}: {sizes.customers:,} customers, {sizes.vendors:,} vendors, "
            f"{sizes.items:,} items."
        )
    else:
        if found is not None:
            create_database(drop=True)
            migrate()
        print(f"Seeding {ORGANIZATION_NAME!r}:")
        seed(sizes)
    link_to_crm()


def vacuum(*models) -> None:
    """Fresh statistics and visibility maps, as autovacuum leaves them on a live database."""
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


CRM_SHARE = 3  # every third customer and vendor is linked to a CRM record


def link_to_crm() -> None:
    """Link a third of the customers and vendors to CRM records, for the CRM Customers / CRM Vendors views."""
    from django.db import transaction

    from customers.models import Customer
    from integration.models import CrmConnection
    from organizations.models import Organization
    from sync.flags import refresh_crm_flags
    from sync.models import RecordLink
    from vendors.models import Vendor

    organization = Organization.objects.get(name=ORGANIZATION_NAME)
    if RecordLink.objects.filter(connection__organization=organization).exists():
        if refresh_crm_flags(organization_id=organization.pk):  # links made here by hand: the sync writes the flag with each link
            vacuum(RecordLink, Customer, Vendor)
        return
    now = datetime.datetime.now(datetime.UTC)
    start = time.perf_counter()
    with transaction.atomic():
        crm = CrmConnection.objects.create(
            organization=organization, crm_org_id="bench", api_domain="https://www.zohoapis.com",
            accounts_url="https://accounts.zoho.com", client_id="bench", client_secret="bench",
            refresh_token="bench",
        )
        rows = []
        for model, erp_model, crm_module in ((Customer, "customer", "Accounts"), (Vendor, "vendor", "Vendors")):
            ids = model.objects.filter(organization=organization).order_by("pk").values_list("pk", flat=True)
            rows += [
                {"connection_id": crm.pk, "crm_module": crm_module, "crm_id": f"58431040{pk:011d}",
                 "erp_model": erp_model, "erp_id": pk, "origin": "crm", "synced_snapshot": {},
                 "last_synced_at": now}
                for index, pk in enumerate(ids) if index % CRM_SHARE == 0
            ]
        count = copy_rows(RecordLink, rows)
        refresh_crm_flags(organization_id=organization.pk)  # links made here by hand: the sync writes the flag with each link
    vacuum(RecordLink, Customer, Vendor)
    print(f"  {count:>7,} CRM record links in {time.perf_counter() - start:.1f} s")


# ---------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    page_name: str  # the list: customers, vendors, items
    label: str
    params: dict
    deep_page: int = 0  # 0: page 1
    matches: int = 0
    stress: bool = False  # beyond the scenarios: reported, not held to the targets


@dataclass
class Result:
    scenario: Scenario
    page: int
    times_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    queries: set[int] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank


def list_url(page_name: str) -> str:
    from django.urls import reverse

    return reverse(f"{page_name}:list")


def matching_rows(page_name: str, params: dict) -> int:
    """How many rows the list shows for `params`, by the same rules as the view."""
    from django.test import RequestFactory

    from customers.models import Customer
    from customers.selectors import CUSTOMER_LIST
    from items.models import Item
    from items.selectors import ITEM_LIST
    from organizations.listing import list_state
    from organizations.models import Organization
    from vendors.models import Vendor
    from vendors.selectors import VENDOR_LIST

    model, spec = {
        "customers": (Customer, CUSTOMER_LIST),
        "vendors": (Vendor, VENDOR_LIST),
        "items": (Item, ITEM_LIST),
    }[page_name]
    organization = Organization.objects.get(name=ORGANIZATION_NAME)
    request = RequestFactory().get("/", params)
    return list_state(request, model.objects.filter(organization=organization), spec).page.paginator.count


def scenarios(deep_page: int) -> list[Scenario]:
    few = f"{FIRST_NAMES[2]} {LAST_NAMES[2]}"
    listed = [
        Scenario("customers", "all, by name", {}),
        Scenario("customers", f"search {few!r}", {"q": few}),
        Scenario("customers", "search 'trading'", {"q": "trading"}),
        Scenario("customers", "search 'willow'", {"q": "willow"}),  # a first word: its matches sort late
        Scenario("customers", "view=active", {"view": "active"}),
        Scenario("customers", "view=inactive", {"view": "inactive"}),
        Scenario("customers", "sort=-name", {"sort": "-name"}),
        Scenario("customers", "sort=-created", {"sort": "-created"}),
        Scenario(
            "customers", "active, 'trading', newest", {"view": "active", "q": "trading", "sort": "-created"}
        ),
        Scenario("customers", "view=crm (CRM Customers)", {"view": "crm"}),
        Scenario("customers", "CRM Customers, 'trading'", {"view": "crm", "q": "trading"}),
        Scenario("vendors", "all, by name", {}),
        Scenario("vendors", "view=crm (CRM Vendors)", {"view": "crm"}),
        Scenario("vendors", "search 'harbor'", {"q": "harbor"}),
        Scenario("items", "all, by name", {}),
        Scenario("items", "search 'wireless'", {"q": "wireless"}),
        # Terms of one or two letters have no trigram to look up, and a term found in a third of all
        # rows has a third of the table to read and count: the limits of the indexes, shown apart.
        Scenario("customers", "search 'an' (2 letters)", {"q": "an"}, stress=True),
        Scenario("customers", "search 'ing' (broad)", {"q": "ing"}, stress=True),
    ]
    from organizations.listing import PAGE_SIZE

    expanded = []
    for scenario in listed:
        scenario.matches = matching_rows(scenario.page_name, scenario.params)
        expanded.append(scenario)
        last_page = max(1, math.ceil(scenario.matches / PAGE_SIZE))
        if last_page > 1:
            expanded.append(Scenario(**{**scenario.__dict__, "deep_page": min(deep_page, last_page)}))
    return expanded


def request_page(client, url: str, params: dict, page: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    query = {**params, "page": str(page)} if page > 1 else params
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        response = client.get(url, query)
        elapsed_ms = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise CannotRun(f"GET {url} {query} answered {response.status_code}.")
    if page > 1 and f"Page {page} of".encode() not in response.content:
        raise CannotRun(f"GET {url} {query} did not show page {page}.")
    sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
    return elapsed_ms, sql_ms, captured.captured_queries


def measure(client, planned: list[Scenario], *, repeat: int, warmup: int) -> list[Result]:
    """Request every scenario once per round, `repeat` rounds: a burst of load from elsewhere on the
    machine then spreads over all rows instead of spoiling one."""
    results = [Result(scenario=s, page=s.deep_page or 1) for s in planned]
    urls = [list_url(s.page_name) for s in planned]
    for round_number in range(warmup + repeat):
        for result, url in zip(results, urls, strict=True):
            elapsed_ms, sql_ms, queries = request_page(client, url, result.scenario.params, result.page)
            if round_number >= warmup:
                result.times_ms.append(elapsed_ms)
                result.sql_ms.append(sql_ms)
                result.queries.add(len(queries))
    return results


def explain(client, scenario: Scenario) -> None:
    """Print the plan of each query that reads the list's table (for --explain)."""
    from django.db import connection

    page = scenario.deep_page or 1
    _, _, queries = request_page(client, list_url(scenario.page_name), scenario.params, page)
    table = {"customers": "customers_customer", "vendors": "vendors_vendor", "items": "items_item"}
    print(f"\n== {scenario.page_name}: {scenario.label}, page {page}")
    for query in queries:
        if f'FROM "{table[scenario.page_name]}"' not in query["sql"]:
            continue
        print(f"-- {query['sql']}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            for (line,) in cursor.fetchall():
                print(f"   {line}")


def queries_by_page_size(client, *, deep_page: int) -> dict[int, set[int]]:
    """Query counts of the customers list at several page sizes, page 1 and deep: they must not differ."""
    from organizations import listing

    counts = {}
    original = listing.PAGE_SIZE
    try:
        for size in (10, 25, 100):
            listing.PAGE_SIZE = size
            counts[size] = {
                len(request_page(client, list_url("customers"), {}, page)[2])
                for page in (1, 2, deep_page // 4)
            }
    finally:
        listing.PAGE_SIZE = original
    return counts


# ---------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_table(results: list[Result]) -> None:
    header = ("list", "scenario", "rows", "page", "median ms", "p95 ms", "sql ms", "queries", "median", "p95")
    rows = [
        (
            r.scenario.page_name,
            f"{r.scenario.label}{' *' if r.scenario.stress else ''}",
            f"{r.scenario.matches:,}",
            f"{r.page:,}",
            f"{r.median:.1f}",
            f"{r.p95:.1f}",
            f"{statistics.median(r.sql_ms):.1f}",
            "/".join(str(q) for q in sorted(r.queries)),
            verdict(r.median < MEDIAN_TARGET_MS),
            verdict(r.p95 < P95_TARGET_MS),
        )
        for r in results
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    right = {2, 3, 4, 5, 6, 7}

    def line(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def print_verdicts(results: list[Result], by_size: dict[int, set[int]]) -> None:
    held = [r for r in results if not r.scenario.stress]
    stress = [r for r in results if r.scenario.stress]
    if held:
        worst_median = max(held, key=lambda r: r.median)
        worst_p95 = max(held, key=lambda r: r.p95)
        print(
            f"{verdict(worst_median.median < MEDIAN_TARGET_MS)}  median under {MEDIAN_TARGET_MS} ms on every row "
            f"(worst {worst_median.median:.1f} ms: {worst_median.scenario.page_name}, "
            f"{worst_median.scenario.label}, page {worst_median.page:,})"
        )
        print(
            f"{verdict(worst_p95.p95 < P95_TARGET_MS)}  95th percentile under {P95_TARGET_MS} ms on every row "
            f"(worst {worst_p95.p95:.1f} ms: {worst_p95.scenario.page_name}, {worst_p95.scenario.label}, "
            f"page {worst_p95.page:,})"
        )
    # Each list has its own fixed queries; within a list the count must not move with the page or filter.
    per_list: dict[str, set[int]] = {}
    for r in results:
        per_list.setdefault(r.scenario.page_name, set()).update(r.queries)
    counts_text = ", ".join(f"{name}: {'/'.join(map(str, sorted(c)))}" for name, c in per_list.items())
    print(
        f"{verdict(all(len(c) == 1 for c in per_list.values()))}  same number of queries on every row and page "
        f"of a list ({counts_text})"
    )
    size_counts = set().union(*by_size.values())
    sizes_text = ", ".join(f"{size} rows: {'/'.join(map(str, sorted(c)))}" for size, c in by_size.items())
    print(
        f"{verdict(len(size_counts) == 1)}  same number of customers queries at every page size ({sizes_text})"
    )
    if stress:
        print(
            f"*     not held to the targets (terms the trigram indexes cannot narrow): worst median "
            f"{max(r.median for r in stress):.1f} ms, worst p95 {max(r.p95 for r in stress):.1f} ms"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--vendors", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per row (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--deep-page", type=int, default=2000, help="the deep page, or the last if fewer")
    parser.add_argument("--fresh", action="store_true", help="drop and refill the database even if it fits")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each list query")
    parser.add_argument("--only", default="", help="only the rows whose list or scenario contains this text")
    args = parser.parse_args(argv)
    if min(args.repeat, args.customers, args.vendors, args.items, args.deep_page) < 1 or args.warmup < 0:
        parser.error("the sizes, --repeat and --deep-page must be positive")

    try:
        configure_django(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        prepare(Sizes(customers=args.customers, vendors=args.vendors, items=args.items), fresh=args.fresh)

        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        client = Client()
        client.force_login(get_user_model().objects.get(username=USERNAME))
        request_page(client, list_url("customers"), {}, 1)  # puts the organization in the session
        planned = [
            s for s in scenarios(args.deep_page) if args.only.lower() in f"{s.page_name} {s.label}".lower()
        ]
        if not planned:
            raise CannotRun(f"No scenario matches --only {args.only!r}.")
        if args.explain:
            for scenario in planned:
                explain(client, scenario)
            print()
        load_before = os.getloadavg()[0]
        results = measure(client, planned, repeat=args.repeat, warmup=args.warmup)
        load_after = os.getloadavg()[0]
        by_size = queries_by_page_size(client, deep_page=min(args.deep_page, max(4, args.customers // 100)))
    except CannotRun as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2

    print(
        f"\nPostgreSQL {connection.pg_version // 10000}, database {connection.settings_dict['NAME']!r}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before and {load_after:.1f} after.\n"
        f"Server time through the Django test client: {args.repeat} timed requests per row, taken in "
        f"rounds over all rows after {args.warmup} untimed rounds; sql ms is the median time in SQL.\n"
    )
    print_table(results)
    print()
    print_verdicts(results, by_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
