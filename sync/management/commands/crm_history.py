import json

from django.core.management.base import BaseCommand

from organizations.selectors import organization_for_command
from sync.management.options import positive_int
from sync.models import SyncRun

from .crm_sync import run_json

MAX_LIMIT = 10_000


class Command(BaseCommand):
    help = "Print an organization's recent sync runs."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--limit", type=positive_int(MAX_LIMIT), default=20, metavar="N",
                            help=f"How many of the latest runs (1 to {MAX_LIMIT}, default 20)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        organization = organization_for_command(options["org"])
        runs = (SyncRun.objects.filter(organization=organization)[: options["limit"]])
        rows = [run_json(run) for run in runs]
        if options["json"]:
            self.stdout.write(json.dumps(rows))
            return
        if not rows:
            self.stdout.write("No sync runs yet.")
        for row in rows:
            self.stdout.write(
                f"{row['started_at'] or '(queued)':25} {row['module']:9} {row['trigger']:9} {row['status']:9} "
                f"+{row['added']} ~{row['updated']} -{row['deleted']} skipped {row['skipped']} "
                f"failed {row['failed']} conflicts {row['conflicts']} api {row['api_calls']}"
                + (f"  {row['failure_reason']}" if row["failure_reason"] else "")
            )
