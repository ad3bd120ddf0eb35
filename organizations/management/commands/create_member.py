import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from organizations.models import Role
from organizations.selectors import organization_for_command
from organizations.services import member_create

NOT_ON_THE_COMMAND_LINE = ("--password is not taken: ps and the shell's history keep command lines. Type the "
                           "password when asked, or give it on standard input with --password-stdin.")


class Command(BaseCommand):
    help = ("Add a user to an organization with a role. A new user's password is asked for (or read from "
            "standard input with --password-stdin); an existing user keeps theirs.")
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization name")
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true",
                            help="read a new user's password from the first line of standard input")
        parser.add_argument("--password", help="refused: see --password-stdin")

    def handle(self, *args, **options):
        if options["password"] is not None:
            raise CommandError(NOT_ON_THE_COMMAND_LINE)
        organization = organization_for_command(options["org"])
        username = options["username"]
        exists = get_user_model().objects.filter(username=username).exists()
        password = None if exists else self._password(options)
        try:
            membership = member_create(organization=organization, username=username, password=password,
                                       role=options["role"], email=options["email"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        if exists:
            self.stdout.write(f"{username} already exists and keeps their password "
                              f"(manage.py changepassword {username} changes it).")
        self.stdout.write(f"{membership.user.username} is {membership.role} in {organization.name}.")

    def _password(self, options) -> str:
        stdin = options.get("stdin") or sys.stdin
        if options["password_stdin"]:
            return stdin.readline().rstrip("\r\n")
        if not stdin.isatty():
            raise CommandError("No terminal to ask for the password in: give it on standard input with "
                               "--password-stdin.")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return first
