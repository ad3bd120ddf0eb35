"""Fill an organization with a small, realistic, deterministic data set."""

import datetime
import random
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from customers.models import ContactPerson
from customers.services import customer_create, invoice_create, invoice_record_payment
from items.services import item_create
from organizations.selectors import organization_for_command
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


class Command(BaseCommand):
    help = "Fill an organization with demo customers, vendors, items, invoices and bills."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization name")
        parser.add_argument("--seed", type=int, default=7)

    @transaction.atomic
    def handle(self, *args, **options):
        organization = organization_for_command(options["org"])
        if organization.customers.exists():
            self.stdout.write("The organization already has data; nothing added.")
            return
        rng = random.Random(options["seed"])
        today = timezone.localdate()
        customers = []
        for index, company in enumerate(COMPANIES):
            city, state, zip_code = CITIES[index % len(CITIES)]
            slug = company.lower().replace(" & ", "-").replace(" ", "-").replace(".", "")
            customer = customer_create(
                organization=organization,
                display_name=company,
                company_name=company,
                email=f"accounts@{slug}.example",
                phone=f"+1 555 01{index:02d}",
                website=f"https://{slug}.example",
                billing_street=f"{100 + index} Main Street",
                billing_city=city,
                billing_state=state,
                billing_zip=zip_code,
                billing_country="United States",
            )
            for position, (first, last) in enumerate(rng.sample(PEOPLE, rng.randint(1, 3))):
                ContactPerson.objects.create(
                    customer=customer,
                    first_name=first,
                    last_name=last,
                    email=f"{first.lower()}.{last.lower()}@{slug}.example",
                    phone=f"+1 555 02{index:02d}",
                    is_primary=position == 0,
                )
            customers.append(customer)
        for first, last in PEOPLE[:6]:
            customers.append(
                customer_create(
                    organization=organization,
                    display_name=f"{first} {last}",
                    first_name=first,
                    last_name=last,
                    customer_type="individual",
                    email=f"{first.lower()}@mail.example",
                )
            )
        for index in range(40):
            customer = rng.choice(customers)
            date = today - datetime.timedelta(days=rng.randint(0, 120))
            total = Decimal(rng.randint(100, 9000)) + Decimal(rng.choice(["0.00", "0.50", "0.99"]))
            invoice = invoice_create(
                organization=organization,
                customer=customer,
                number=f"INV-{index + 1:05d}",
                date=date,
                due_date=date + datetime.timedelta(days=30),
                total=total,
            )
            if rng.random() < 0.5:
                invoice_record_payment(invoice=invoice, amount=invoice.balance)
        vendors = [
            vendor_create(
                organization=organization,
                display_name=name,
                company_name=name,
                email=f"billing@{name.lower().replace(' ', '').replace('.', '')}.example",
                city=CITIES[i % len(CITIES)][0],
                country="United States",
            )
            for i, name in enumerate(VENDORS)
        ]
        for index in range(15):
            date = today - datetime.timedelta(days=rng.randint(0, 90))
            bill_create(
                organization=organization,
                vendor=rng.choice(vendors),
                number=f"B-{1000 + index}",
                date=date,
                due_date=date + datetime.timedelta(days=14),
                total=Decimal(rng.randint(50, 4000)),
                amount_paid=Decimal("0"),
            )
        for name, sku, kind, rate, cost, unit in ITEMS:
            item_create(
                organization=organization,
                name=name,
                sku=sku,
                item_type=kind,
                rate=Decimal(rate),
                purchase_rate=Decimal(cost),
                unit=unit,
            )
        self.stdout.write(
            f"Added {len(customers)} customers, {len(vendors)} vendors, {len(ITEMS)} items, "
            f"40 invoices and 15 bills to {organization.name}."
        )
