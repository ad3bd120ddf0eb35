from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from organizations.models import Role
from organizations.selectors import organization_for_command
from organizations.services import member_create


class Command(BaseCommand):
    help = "Add a user (created if needed) to an organization with a role."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization name")
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")

    def handle(self, *args, **options):
        organization = organization_for_command(options["org"])
        try:
            membership = member_create(
                organization=organization,
                username=options["username"],
                password=options["password"],
                role=options["role"],
                email=options["email"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"{membership.user.username} is {membership.role} in {organization.name}.")
