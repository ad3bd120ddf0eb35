"""The demo organization: its data, made through the ERP's own services, and its connection to the CRM
sandbox, made through the same services a user's connection is."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from crm_sandbox.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from customers.models import ContactPerson
from customers.services import customer_create, invoice_create, invoice_record_payment
from integration import selectors, services
from items.services import item_create
from organizations.models import Organization
from sync.engine import run as engine
from vendors.services import bill_create, vendor_create

COMPANIES = [
    "Northwind Traders", "Blue Harbor Logistics", "Cedar & Pine Furniture", "Atlas Dental Group",
    "Brightline Solar", "Maple Street Bakery", "Quartz Analytics", "Riverbend Veterinary",
    "Summit Outdoor Supply", "Orchid Hotels", "Ironclad Security", "Lumen Eyewear",
    "Greenfield Farms Co-op", "Harbor View Clinic", "Keystone Builders", "Nimbus Cloud Services",
    "Old Mill Brewing", "Pioneer Robotics", "Silverline Travel", "Willow Creek School",
]
PEOPLE = [
    ("Amara", "Okafor"), ("Lucas", "Ferreira"), ("Mei", "Tanaka"), ("Jonas", "Berg"), ("Priya", "Nair"),
    ("Diego", "Morales"), ("Hannah", "Schulz"), ("Omar", "Haddad"), ("Sofia", "Rossi"), ("Liam", "Walsh"),
    ("Aisha", "Bello"), ("Noah", "Kim"), ("Elena", "Petrova"), ("Mateo", "Silva"), ("Grace", "Mensah"),
]
CITIES = [("Boston", "MA", "02110"), ("Austin", "TX", "73301"), ("Denver", "CO", "80202"), ("Seattle", "WA", "98101")]
VENDORS = [
    "Acme Office Supplies", "Pacific Paper Co.", "Metro Electric", "Swift Couriers", "Granite IT Services",
    "Evergreen Cleaning", "Beacon Insurance", "Delta Hardware", "Crescent Catering", "Vertex Software",
]
ITEMS = [
    ("Standing desk", "DESK-01", "goods", "499.00", "310.00", "pcs"),
    ("Ergonomic chair", "CHAIR-02", "goods", "289.00", "170.00", "pcs"),
    ("Monitor arm", "ARM-03", "goods", "89.00", "41.00", "pcs"),
    ("USB-C dock", "DOCK-04", "goods", "159.00", "92.00", "pcs"),
    ("Installation", "SRV-INST", "service", "75.00", "0", "hour"),
    ("Consulting", "SRV-CONS", "service", "140.00", "0", "hour"),
    ("Annual support plan", "SRV-SUP", "service", "1200.00", "0", "year"),
    ("Cable kit", "CBL-05", "goods", "19.50", "6.20", "box"),
    ("Desk lamp", "LAMP-06", "goods", "45.00", "21.00", "pcs"),
    ("Whiteboard", "WB-07", "goods", "120.00", "64.00", "pcs"),
]
INVOICES, BILLS = 40, 15


# --- data ---------------------------------------------------------------------------------------------------


@transaction.atomic
def demo_data_load(*, organization: Organization, seed: int = 7) -> str | None:
    """Customers with contact persons, vendors, items, invoices and bills, the same for the same seed.
    Returns what was added, or None when the organization already has data."""
    if organization.customers.exists():
        return None
    rng = random.Random(seed)
    customers = _businesses(organization, rng) + _individuals(organization)
    _invoices(organization, customers, rng)
    vendors = [_vendor(organization, index, name) for index, name in enumerate(VENDORS)]
    _bills(organization, vendors, rng)
    for name, sku, kind, rate, cost, unit in ITEMS:
        item_create(organization=organization, name=name, sku=sku, item_type=kind, rate=Decimal(rate),
                    purchase_rate=Decimal(cost), unit=unit)
    return (f"Added {len(customers)} customers, {len(vendors)} vendors, {len(ITEMS)} items, "
            f"{INVOICES} invoices and {BILLS} bills to {organization.name}.")


def _slug(name: str) -> str:
    return name.lower().replace(" & ", "-").replace(" ", "-").replace(".", "")


def _businesses(organization: Organization, rng: random.Random) -> list:
    customers = []
    for index, company in enumerate(COMPANIES):
        city, state, zip_code = CITIES[index % len(CITIES)]
        slug = _slug(company)
        people = [
            ContactPerson(first_name=first, last_name=last, email=f"{first.lower()}.{last.lower()}@{slug}.example",
                          phone=f"+1 555 02{index:02d}", is_primary=position == 0)
            for position, (first, last) in enumerate(rng.sample(PEOPLE, rng.randint(1, 3)))
        ]
        customers.append(customer_create(
            organization=organization, display_name=company, company_name=company, email=f"accounts@{slug}.example",
            phone=f"+1 555 01{index:02d}", website=f"https://{slug}.example", billing_street=f"{100 + index} Main Street",
            billing_city=city, billing_state=state, billing_zip=zip_code, billing_country="United States",
            contact_persons=people,
        ))
    return customers


def _individuals(organization: Organization) -> list:
    return [
        customer_create(organization=organization, display_name=f"{first} {last}", first_name=first, last_name=last,
                        customer_type="individual", email=f"{first.lower()}@mail.example")
        for first, last in PEOPLE[:6]
    ]


def _invoices(organization: Organization, customers: list, rng: random.Random) -> None:
    today = timezone.localdate()
    for index in range(INVOICES):
        customer = rng.choice(customers)
        date = today - datetime.timedelta(days=rng.randint(0, 120))
        total = Decimal(rng.randint(100, 9000)) + Decimal(rng.choice(["0.00", "0.50", "0.99"]))
        invoice = invoice_create(organization=organization, customer=customer, number=f"INV-{index + 1:05d}",
                                 date=date, due_date=date + datetime.timedelta(days=30), total=total)
        if rng.random() < 0.5:
            invoice_record_payment(invoice=invoice, amount=invoice.balance)


def _vendor(organization: Organization, index: int, name: str):
    return vendor_create(organization=organization, display_name=name, company_name=name,
                         email=f"billing@{name.lower().replace(' ', '').replace('.', '')}.example",
                         city=CITIES[index % len(CITIES)][0], country="United States")


def _bills(organization: Organization, vendors: list, rng: random.Random) -> None:
    today = timezone.localdate()
    for index in range(BILLS):
        date = today - datetime.timedelta(days=rng.randint(0, 90))
        bill_create(organization=organization, vendor=rng.choice(vendors), number=f"B-{1000 + index}", date=date,
                    due_date=date + datetime.timedelta(days=14), total=Decimal(rng.randint(50, 4000)),
                    amount_paid=Decimal("0"))


# --- the CRM sandbox ----------------------------------------------------------------------------------------


def demo_connect(*, organization: Organization, sandbox_url: str, quiet) -> list[str]:
    """Connect the organization to the sandbox (unless it is connected), configure customers (Accounts & their
    Contacts, both ways), vendors and items, and sync each once. Returns a line per first sync."""
    if selectors.connection_for(organization) is not None:
        return []
    credentials = {"api_domain": sandbox_url, "accounts_url": sandbox_url, "client_id": DEFAULT_CLIENT_ID,
                   "client_secret": DEFAULT_CLIENT_SECRET, "refresh_token": DEFAULT_REFRESH_TOKEN}
    client = services.crm_client(**credentials)
    connection = services.connection_create(organization=organization, user=None, crm_org=client.org(),
                                            crm_users=client.users(), **credentials)
    org = organization.name
    call_command("crm_configure", org=org, module="customers", crm_source="accounts_and_contacts",
                 include_orphan_contacts=True, direction="both", duplicate_action="overwrite", auto_map=True, **quiet)
    call_command("crm_configure", org=org, module="vendors", direction="both", duplicate_action="overwrite",
                 auto_map=True, **quiet)
    call_command("crm_configure", org=org, module="items", direction="fetch", duplicate_key="name",
                 duplicate_action="overwrite", auto_map=True, **quiet)
    lines = []
    for config in connection.module_configs.all():
        run = engine.run_now(module_config=config, trigger="initial")
        lines.append(f"First sync of {config.module}: {run.status}, {run.added} added, {run.updated} updated, "
                     f"{run.pushed} pushed.")
    return lines
