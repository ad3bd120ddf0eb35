"""Fill an organization with a small, realistic, deterministic data set."""

from django.core.management.base import BaseCommand

from demo.services import demo_data_load
from organizations.selectors import organization_for_command


class Command(BaseCommand):
    help = "Fill an organization with demo customers, vendors, items, invoices and bills."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization name")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        organization = organization_for_command(options["org"])
        added = demo_data_load(organization=organization, seed=options["seed"])
        self.stdout.write(added or "The organization already has data; nothing added.")
