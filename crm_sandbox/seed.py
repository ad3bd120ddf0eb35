"""Deterministic demo data: a small company's CRM, or a large one for benchmarks (`--seed-size`).

Records are written with executemany in one transaction and indexed afterwards, which keeps 100,000
accounts well under a minute. Modified times are spread like real imports and mass updates, so many
records share the same second: that is the case sync cursors must survive.
"""

import json
import random

from .schema import CURRENT_USER, INDUSTRIES, LEAD_SOURCES, USERS, default_currencies, default_org, layouts
from .store import FIRST_RECORD_ID, Store, system_unique_fields

DEMO_SIZES = {"accounts": 50, "contacts": 150, "vendors": 20, "products": 60}
SEEDS = ("demo", "empty")

# 2024-01-01T00:00:00Z: seeded history spans the year after it.
EPOCH_START = 1704067200
YEAR = 365 * 86400

_PLACES = [
    ("Boston", "MA", "02110", "United States"), ("Austin", "TX", "73301", "United States"),
    ("Seattle", "WA", "98101", "United States"), ("Chicago", "IL", "60601", "United States"),
    ("Denver", "CO", "80202", "United States"), ("Berlin", "BE", "10115", "Germany"),
    ("Munich", "BY", "80331", "Germany"), ("London", "LND", "EC1A 1BB", "United Kingdom"),
    ("Manchester", "MAN", "M1 1AE", "United Kingdom"), ("Chennai", "TN", "600001", "India"),
    ("Bengaluru", "KA", "560001", "India"), ("Paris", "IDF", "75001", "France"),
    ("Toronto", "ON", "M5H 2N2", "Canada"),
]
_STREETS = ["Harbor Way", "Main Street", "Elm Avenue", "Market Street", "Station Road", "Park Lane", "Mill Road",
            "Church Street", "High Street", "Lake View Drive"]
_ADJECTIVES = ["Northwind", "Blue Harbor", "Summit", "Evergreen", "Redwood", "Silverline", "Brightpath", "Ironclad",
               "Golden Gate", "Pioneer", "Crescent", "Atlas", "Maple", "Horizon", "Keystone", "Riverbend",
               "Sterling", "Oakridge", "Lighthouse", "Granite", "Cobalt", "Meridian", "Willow", "Falcon"]
_NOUNS = ["Traders", "Retail", "Logistics", "Systems", "Foods", "Motors", "Labs", "Textiles", "Builders", "Health",
          "Media", "Outfitters", "Analytics", "Hospitality", "Pharma", "Electronics", "Furniture", "Energy"]
_SUFFIXES = ["Inc.", "LLC", "GmbH", "Ltd", "Corp.", "Co.", "Group", "Pvt Ltd"]
_FIRST = ["Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Isabel", "Jonas", "Kavya", "Liam",
          "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sanjay", "Tara", "Umar", "Vera", "Wei", "Yara", "Zoe"]
_LAST = ["Schmidt", "Garcia", "Okafor", "Nguyen", "Patel", "Johnson", "Rossi", "Kowalski", "Tanaka", "Murphy",
         "Silva", "Dubois", "Ivanova", "Haddad", "Larsen", "Chen", "Moreau", "Fischer", "Khan", "Brown"]
_TITLES = ["Purchasing Manager", "CFO", "Office Manager", "Head of Operations", "Buyer", "Accountant", "Managing Director",
           "IT Director", "Sales Lead", "Procurement Specialist"]
_DEPARTMENTS = ["Finance", "Operations", "Purchasing", "IT", "Sales", "Management"]
_VENDOR_CATEGORIES = ["Hardware", "Software", "Logistics", "Office Supplies", "Services"]
_PRODUCT_WORDS = ["Desk Chair", "Standing Desk", "Laptop Stand", "Monitor Arm", "Label Printer", "Barcode Scanner",
                  "Router", "Firewall Appliance", "USB-C Dock", "Office Paper", "Toner Cartridge", "Headset",
                  "Webcam", "Server Rack", "Cable Kit", "Whiteboard"]
_SERVICE_WORDS = ["Installation", "Annual Support", "Onboarding Workshop", "Consulting Day", "Maintenance Plan",
                  "Data Migration"]
_PRODUCT_ADJECTIVES = ["Ergonomic", "Compact", "Premium", "Basic", "Pro", "Eco", "Heavy-Duty", "Wireless",
                       "Smart", "Classic"]


def parse_sizes(text: str | None) -> dict[str, int]:
    """'accounts=100000,contacts=5' -> {'accounts': 100000, 'contacts': 5}; other modules keep the demo size."""
    sizes = dict(DEMO_SIZES)
    for part in filter(None, (text or "").split(",")):
        name, _, number = part.partition("=")
        name = name.strip().lower()
        if name not in sizes or not number.strip().isdigit():
            raise ValueError(f"bad --seed-size entry {part!r}; use e.g. accounts=100000,contacts=5000")
        sizes[name] = int(number)
    return sizes


def effective_sizes(seed_name: str, sizes: dict[str, int] | None) -> dict[str, int]:
    if seed_name not in SEEDS:
        raise ValueError(f"unknown seed {seed_name!r}; known: {', '.join(SEEDS)}")
    if seed_name == "empty":
        return dict.fromkeys(DEMO_SIZES, 0)
    return dict(DEMO_SIZES if sizes is None else sizes)


def seed(store: Store, seed_name: str = "demo", sizes: dict[str, int] | None = None) -> dict[str, int]:
    sizes = effective_sizes(seed_name, sizes)
    store.clear()
    rng = random.Random(20240101)
    next_id = FIRST_RECORD_ID
    rows: list[tuple] = []

    def take(count: int) -> list[int]:
        nonlocal next_id
        ids = list(range(next_id, next_id + count))
        next_id += count
        return ids

    account_ids = take(sizes["accounts"])
    vendor_ids = take(sizes["vendors"])
    contact_ids = take(sizes["contacts"])
    product_ids = take(sizes["products"])
    accounts = {}
    for n, record_id in enumerate(account_ids):
        data = _account(rng, n, account_ids)
        accounts[record_id] = data
        rows.append(_row(rng, "Accounts", record_id, n, len(account_ids), data))
    for n, record_id in enumerate(vendor_ids):
        rows.append(_row(rng, "Vendors", record_id, n, len(vendor_ids), _vendor(rng, n)))
    for n, record_id in enumerate(contact_ids):
        data = _contact(rng, n, account_ids, accounts)
        rows.append(_row(rng, "Contacts", record_id, n, len(contact_ids), data))
    for n, record_id in enumerate(product_ids):
        rows.append(_row(rng, "Products", record_id, n, len(product_ids), _product(rng, n, vendor_ids)))

    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO records(id, module, created_time, modified_time, data) VALUES (?, ?, ?, ?, ?)", rows
        )
        store.set_meta("org", default_org(), conn)
        store.set_meta("currencies", default_currencies(), conn)
        store.set_meta("next_id", next_id, conn)
        store.set_meta("seed", {"name": seed_name, "sizes": sizes}, conn)
    store.ensure_indexes(system_unique_fields())
    store.conn.execute("ANALYZE")
    return sizes


def _row(rng: random.Random, module: str, record_id: int, n: int, total: int, data: dict) -> tuple:
    # Imports: records arrive in batches of up to ~40 that share one second, spread over the year.
    batch = n // 40
    created = EPOCH_START + int(batch * (YEAR / max(1, total / 40)))
    roll = rng.random()
    if roll < 0.5:
        modified = created
    elif roll < 0.8:
        # Mass updates: a few hundred instants late in the year, each shared by many records.
        modified = max(created, EPOCH_START + YEAR + rng.randrange(300) * 600)
    else:
        modified = created + rng.randrange(1, 90 * 86400)
    owner = rng.choice(USERS)["id"]
    data.setdefault("Owner", owner)
    data["Created_By"] = CURRENT_USER["id"]
    data["Modified_By"] = rng.choice([CURRENT_USER["id"], owner])
    return (record_id, module, created, modified, json.dumps(data, separators=(",", ":")))


def _unique_name(n: int, parts: list[list[str]]) -> str:
    """Deterministic distinct names: a stride through the product of word lists, then numbered repeats."""
    total = 1
    for options in parts:
        total *= len(options)
    # 7919 is prime and shares no factor with these list sizes, so the stride visits every combination.
    combination, repeat = (n * 7919) % total, n // total
    words = []
    for options in parts:
        words.append(options[combination % len(options)])
        combination //= len(options)
    name = " ".join(words)
    return f"{name} {repeat + 1}" if repeat else name


def _address(rng: random.Random, prefix: str, code: str) -> dict:
    city, state, postcode, country = rng.choice(_PLACES)
    return {
        f"{prefix}_Street": f"{rng.randint(1, 999)} {rng.choice(_STREETS)}", f"{prefix}_City": city,
        f"{prefix}_State": state, f"{prefix}_{code}": postcode, f"{prefix}_Country": country,
    }


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower().split(" ")[0] + name.lower().split(" ")[-1] if ch.isalnum())


def _account(rng: random.Random, n: int, account_ids: list[int]) -> dict:
    name = _unique_name(n, [_ADJECTIVES, _NOUNS, _SUFFIXES])
    data = {
        "Account_Name": name, "Account_Number": f"ACC-{n + 1:06d}", "Phone": f"+1 555 {rng.randint(1000, 9999)}",
        "Website": f"www.{_slug(name)}.test", "Industry": rng.choice(INDUSTRIES),
        "Account_Type": rng.choice(["Customer", "Customer", "Prospect", "Reseller", "Partner"]),
        "Employees": rng.choice([5, 12, 40, 120, 450, 1200, 5000]),
        "Annual_Revenue": float(rng.randint(1, 500) * 10000), "Layout": layouts("Accounts")[0]["id"],
    }
    data.update(_address(rng, "Billing", "Code"))
    if rng.random() < 0.7:
        data.update({key.replace("Billing", "Shipping"): value for key, value in list(data.items())
                     if key.startswith("Billing_")})
    if rng.random() < 0.3:
        data["Description"] = f"{name} buys through the {rng.choice(['web shop', 'field team', 'partner channel'])}."
    if n and rng.random() < 0.1:
        # A parent is always an earlier account, so the hierarchy has no cycles.
        data["Parent_Account"] = str(account_ids[rng.randrange(n)])
    if rng.random() < 0.1:
        data["Layout"] = layouts("Accounts")[1]["id"]
        data["Wholesale_Discount"] = float(rng.choice([5, 7.5, 10, 15]))
    return data


def _contact(rng: random.Random, n: int, account_ids: list[int], accounts: dict) -> dict:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    data = {
        "First_Name": first, "Last_Name": last, "Full_Name": f"{first} {last}",
        "Salutation": rng.choice(["Mr.", "Ms.", "Mrs.", "Dr.", None]), "Title": rng.choice(_TITLES),
        "Department": rng.choice(_DEPARTMENTS), "Phone": f"+1 555 {rng.randint(1000, 9999)}",
        "Mobile": f"+1 555 {rng.randint(1000, 9999)}", "Lead_Source": rng.choice(LEAD_SOURCES),
        "Email_Opt_Out": rng.random() < 0.1, "Layout": layouts("Contacts")[0]["id"],
    }
    domain = "mail.test"
    # Some contacts are people without a company: the "orphans" the ERP may or may not import.
    if account_ids and rng.random() < 0.8:
        account_id = rng.choice(account_ids)
        account = accounts[account_id]
        data["Account_Name"] = str(account_id)
        domain = account["Website"].removeprefix("www.")
        data.update({key.replace("Billing", "Mailing").replace("_Code", "_Zip"): value
                     for key, value in account.items() if key.startswith("Billing_")})
    else:
        data.update(_address(rng, "Mailing", "Zip"))
    data["Email"] = f"{first}.{last}{n + 1}@{domain}".lower()
    if rng.random() < 0.1:
        data["Layout"] = layouts("Contacts")[1]["id"]
        data["Partner_Tier"] = rng.choice(["Silver", "Gold", "Platinum"])
    return data


def _vendor(rng: random.Random, n: int) -> dict:
    name = _unique_name(n, [list(reversed(_ADJECTIVES)), ["Supply", "Wholesale", "Distribution", "Components"],
                            _SUFFIXES])
    city, state, postcode, country = rng.choice(_PLACES)
    data = {
        "Vendor_Name": name, "Email": f"orders@{_slug(name)}.test", "Phone": f"+1 555 {rng.randint(1000, 9999)}",
        "Website": f"www.{_slug(name)}.test", "Category": rng.choice(_VENDOR_CATEGORIES),
        "GL_Account": rng.choice(["Sales-Hardware", "Sales-Software", "Service-Hardware-Labor"]),
        "Street": f"{rng.randint(1, 999)} {rng.choice(_STREETS)}", "City": city, "State": state,
        "Zip_Code": postcode, "Country": country, "Email_Opt_Out": False, "Layout": layouts("Vendors")[0]["id"],
    }
    if country != "United States" and rng.random() < 0.5:
        data["Layout"] = layouts("Vendors")[1]["id"]
        data["Import_License"] = f"IL-{rng.randint(10000, 99999)}"
    return data


def _product(rng: random.Random, n: int, vendor_ids: list[int]) -> dict:
    service = rng.random() < 0.25
    words = _SERVICE_WORDS if service else _PRODUCT_WORDS
    name = _unique_name(n, [_PRODUCT_ADJECTIVES, words])
    data = {
        "Product_Name": name, "Product_Category": "Services" if service else rng.choice(["Hardware", "Software"]),
        "Product_Active": rng.random() < 0.85, "Unit_Price": float(rng.randint(5, 2500)),
        "Taxable": not service, "Usage_Unit": "Hour(s)" if service else rng.choice(["Each", "Box", "Pack"]),
        "Qty_in_Stock": None if service else float(rng.randint(0, 500)),
        "Product_Type": "Services" if service else "Goods", "Layout": layouts("Products")[0]["id"],
    }
    if rng.random() < 0.7:
        data["Product_Code"] = f"SKU-{n + 1:05d}"
    if vendor_ids and rng.random() < 0.6:
        data["Vendor_Name"] = str(rng.choice(vendor_ids))
    if rng.random() < 0.2:
        data["Description"] = f"{name}, sold per {data['Usage_Unit'].lower()}."
    if service and rng.random() < 0.5:
        data["Layout"] = layouts("Products")[1]["id"]
        data["Service_Hours"] = float(rng.choice([1, 4, 8, 40]))
    return data
