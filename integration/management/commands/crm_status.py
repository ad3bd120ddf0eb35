import json

from django.core.management.base import BaseCommand

from integration.models import SyncModule
from integration.selectors import connection_for
from organizations.selectors import organization_for_command


class Command(BaseCommand):
    help = "Show an organization's Zoho CRM connection."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        organization = organization_for_command(options["org"])
        connection = connection_for(organization)
        if connection is None:
            status = {"connected": False}
        else:
            status = {
                "connected": True,
                "connection_id": connection.pk,
                "crm_org_id": connection.crm_org_id,
                "crm_org_name": connection.crm_org_name,
                "status": connection.status,
                "status_message": connection.status_message,
                "two_way_allowed": connection.two_way_allowed,
                "connected_at": connection.connected_at.isoformat(),
                "modules": _modules(connection),
            }
        if options["json"]:
            self.stdout.write(json.dumps(status))
            return
        if not status["connected"]:
            self.stdout.write(f"{organization.name} is not connected to Zoho CRM.")
            return
        direction = "both ways allowed" if status["two_way_allowed"] else "one-way (fetch from CRM)"
        self.stdout.write(
            f"{organization.name} ⇄ {status['crm_org_name']} ({status['crm_org_id']}): {status['status']}, {direction}"
        )
        for module, configured in status["modules"].items():
            self.stdout.write(f"  {module}: {'configured' if configured else 'not configured'}")


def _modules(connection) -> dict:
    configs = {c.module: c.configured for c in connection.module_configs.all()}
    return {m: configs.get(m, False) for m in SyncModule.values}
