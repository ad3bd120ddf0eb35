import json

from django.core.management.base import BaseCommand, CommandError

from integration.selectors import connection_for
from organizations.selectors import organization_for_command
from sync import health


def health_json(state: dict) -> dict:
    modules = [{"module": h["config"].module, "health": h["state"], "why": h["why"],
                "last_success": h["last_success"].isoformat() if h["last_success"] else None,
                "seconds_since_success": round(h["since_success"].total_seconds()) if h["since_success"] else None,
                "open_issues": h["open_issues"], "held_deletions": h["held"]}
               for h in state["modules"]]
    channel = state["notifications"]["channel"]
    return {"modules": modules, "credits": state["credits"],
            "notifications": {"mode": state["notifications"]["mode"], "why": state["notifications"]["why"],
                              "channel_id": channel.channel_id if channel else None}}


class Command(BaseCommand):
    help = "Print the sync health of each module, the API credits of the last 24 hours and the notification channel."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        organization = organization_for_command(options["org"])
        connection = connection_for(organization)
        if connection is None:
            raise CommandError(f"{organization.name} has no Zoho CRM connection.")
        data = health_json(health.connection_health(connection))
        if options["json"]:
            self.stdout.write(json.dumps(data))
            return
        for m in data["modules"]:
            since = f"{m['seconds_since_success'] // 60} min ago" if m["last_success"] else "never"
            self.stdout.write(f"{m['module']}: {m['health']} — {m['why']} Last success {since}; "
                              f"{m['open_issues']} open issues, {m['held_deletions']} held deletions.")
        c = data["credits"]
        self.stdout.write(f"API credits, last 24 hours: {c['used']} of a budget of {c['budget']} "
                          f"({c['percent']} % of {c['allowance']} a day).")
        if c["refusal"]:
            self.stdout.write(c["refusal"])
        self.stdout.write(f"Notifications: {data['notifications']['mode']} — {data['notifications']['why']}")
