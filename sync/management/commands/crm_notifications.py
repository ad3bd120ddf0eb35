import json

from django.core.management.base import BaseCommand, CommandError

from integration.selectors import connection_for
from organizations.selectors import organization_for_command
from sync import notifications


class Command(BaseCommand):
    help = "Show, make or remove the organization's Zoho CRM notification channel."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--enable", action="store_true", help="Subscribe (or renew) the channel now")
        action.add_argument("--disable", action="store_true", help="Remove the channel (the poll goes on)")
        action.add_argument("--status", action="store_true", help="Show the channel (the default)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        organization = organization_for_command(options["org"])
        connection = connection_for(organization)
        if connection is None:
            raise CommandError(f"{organization.name} has no Zoho CRM connection.")
        if options["enable"]:
            if not notifications.enabled():
                raise CommandError("SITE_URL is not set: Zoho CRM would have no address to call. Set it to this "
                                   "ERP's public base URL.")
            channel = notifications.channel_refresh(connection=connection)
            if channel is not None and channel.problem:
                raise CommandError(channel.problem)
        elif options["disable"]:
            notifications.channel_remove(connection=connection)
        state = notifications.status(connection=connection)
        channel = state["channel"]
        data = {"mode": state["mode"], "why": state["why"], "channel_id": channel.channel_id if channel else None,
                "events": channel.events if channel else [],
                "expires_at": channel.expires_at.isoformat() if channel and channel.expires_at else None,
                "last_callback_at": channel.last_callback_at.isoformat() if channel and channel.last_callback_at else None,
                "callbacks": channel.callbacks if channel else 0,
                "last_lag_seconds": channel.last_lag_seconds if channel else None}
        if options["json"]:
            self.stdout.write(json.dumps(data))
            return
        self.stdout.write(f"{'Notifications live' if data['mode'] == 'live' else 'Polling only'}: {data['why']}")
        if channel:
            self.stdout.write(f"channel {data['channel_id']} for {', '.join(data['events'])}, expires "
                              f"{data['expires_at']}; {data['callbacks']} callbacks, last {data['last_callback_at']}")
