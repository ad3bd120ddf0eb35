from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from organizations.services import organization_create


class Command(BaseCommand):
    help = "Create an organization."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--country", required=True)
        parser.add_argument("--currency", required=True, help="Base currency, ISO code such as USD")

    def handle(self, *args, **options):
        try:
            organization = organization_create(
                name=options["name"],
                email=options["email"],
                country=options["country"],
                base_currency=options["currency"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())) from error
        self.stdout.write(f"Created organization {organization.name} (id {organization.pk}).")
