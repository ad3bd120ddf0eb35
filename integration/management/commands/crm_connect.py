import json

from django.core.management.base import BaseCommand, CommandError

from integration import services
from integration.crm.errors import CrmError
from organizations.selectors import organization_for_command


class Command(BaseCommand):
    help = "Connect an organization to a Zoho CRM organization with a refresh token (for scripted setups)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="ERP organization name")
        parser.add_argument("--api-domain", required=True, help="e.g. https://www.zohoapis.com")
        parser.add_argument("--accounts-url", required=True, help="e.g. https://accounts.zoho.com")
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--refresh-token", required=True)
        parser.add_argument("--crm-org-id", help="Refuse unless the token's CRM organization has this id")

    def handle(self, *args, **options):
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
