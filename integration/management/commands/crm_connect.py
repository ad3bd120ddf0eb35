import argparse
import json
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration import services
from integration.crm.errors import CrmError
from organizations.selectors import organization_for_command

NOT_ON_THE_COMMAND_LINE = ("--client-secret and --refresh-token are not taken: ps and the shell's history keep "
                           "command lines. Set ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN in the environment, or "
                           "put them in a file given with --secrets-file.")

SECRETS = ("ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN")


def read_secrets(path: str | None) -> tuple[str, str]:
    """The client secret and refresh token: from `path` (NAME=value lines) or else the environment."""
    found = dict(os.environ)
    if path:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise CommandError(f"Cannot read the secrets file: {error.strerror}.") from error
        found = {}
        for line in text.splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and not name.startswith("#"):
                found[name.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    missing = [name for name in SECRETS if not found.get(name)]
    if missing:
        where = f"in {path}" if path else "in the environment"
        raise CommandError(f"{' and '.join(missing)} not found {where}.")
    return found[SECRETS[0]], found[SECRETS[1]]


class Command(BaseCommand):
    help = "Connect an organization to a Zoho CRM organization with a refresh token (for scripted setups)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="ERP organization name")
        parser.add_argument("--api-domain", required=True, help="e.g. https://www.zohoapis.com")
        parser.add_argument("--accounts-url", required=True, help="e.g. https://accounts.zoho.com")
        parser.add_argument("--client-id", default=settings.ZOHO_CLIENT_ID or None,
                            help="the API console client (default: ZOHO_CLIENT_ID)")
        parser.add_argument("--secrets-file", help="a file of ZOHO_CLIENT_SECRET=... and ZOHO_REFRESH_TOKEN=... "
                                                   "lines (default: those variables of the environment)")
        # Refused, with the reason: ps and the shell's history keep command lines.
        parser.add_argument("--client-secret", help=argparse.SUPPRESS)
        parser.add_argument("--refresh-token", help=argparse.SUPPRESS)
        parser.add_argument("--crm-org-id", help="Refuse unless the token's CRM organization has this id")

    def handle(self, *args, **options):
        if options["client_secret"] is not None or options["refresh_token"] is not None:
            raise CommandError(NOT_ON_THE_COMMAND_LINE)
        if not options["client_id"]:
            raise CommandError("Give --client-id, or set ZOHO_CLIENT_ID.")
        options["client_secret"], options["refresh_token"] = read_secrets(options["secrets_file"])
        organization = organization_for_command(options["org"])
        try:
            client = services.crm_client(
                api_domain=options["api_domain"],
                accounts_url=options["accounts_url"],
                client_id=options["client_id"],
                client_secret=options["client_secret"],
                refresh_token=options["refresh_token"],
                retry_budget=30,
            )
            crm_org = client.org()
            crm_users = client.users("ActiveUsers")
        except CrmError as error:
            raise CommandError(str(error)) from error
        if options["crm_org_id"] and str(crm_org.get("id")) != options["crm_org_id"]:
            raise CommandError(
                f"The token belongs to CRM organization {crm_org.get('id')}, not {options['crm_org_id']}."
            )
        try:
            connection = services.connection_create(
                organization=organization,
                user=None,
                crm_org=crm_org,
                api_domain=client.api_domain,
                accounts_url=client.accounts_url,
                client_id=options["client_id"],
                client_secret=options["client_secret"],
                refresh_token=options["refresh_token"],
                access_token=client.access_token,
                access_token_expires_at=client.access_token_expires_at,
                crm_users=crm_users,
            )
        except services.ConnectionRefused as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps({"connection_id": connection.pk, "two_way_allowed": connection.two_way_allowed}))
