import json

from django.core.management.base import BaseCommand, CommandError

from organizations.listing import MAX_ID
from sync import operator
from sync.management.commands.crm_sync import run_json
from sync.management.options import add_module_arguments, configured_module, positive_int


def issue_json(issue) -> dict:
    return {"id": issue.pk, "crm_module": issue.crm_module, "crm_id": issue.crm_id, "erp_model": issue.erp_model,
            "erp_id": issue.erp_id, "field": issue.field, "message": issue.message, "count": issue.count,
            "first_seen": issue.first_seen.isoformat(), "last_seen": issue.last_seen.isoformat(),
            "from_erp": issue.from_erp}


class Command(BaseCommand):
    help = "List a module's open sync issues, or retry one (--retry ID) or all of them (--retry-all)."

    def add_arguments(self, parser):
        add_module_arguments(parser)
        parser.add_argument("--json", action="store_true")
        retry = parser.add_mutually_exclusive_group()
        retry.add_argument("--retry", type=positive_int(MAX_ID), metavar="ID",
                           help="Fetch and sync this issue's record now")
        retry.add_argument("--retry-all", action="store_true", help="Fetch and sync every open issue's record now")

    def handle(self, *args, **options):
        config = configured_module(options)
        run = None
        if options["retry"] is not None or options["retry_all"]:
            ids = None if options["retry_all"] else [options["retry"]]
            if ids and not operator.open_issues(module_config=config).filter(pk__in=ids).exists():
                raise CommandError(f"No open issue {options['retry']} in {config.get_module_display()}.")
            run = operator.issues_retry(module_config=config, issue_ids=ids)
        issues = [issue_json(issue) for issue in operator.open_issues(module_config=config)]
        if options["json"]:
            self.stdout.write(json.dumps({"run": run_json(run) if run else None, "open_issues": issues}))
        else:
            if run is not None:
                self.stdout.write(f"Retry run {run.pk}: {run.get_status_display().lower()}, {run.added} added, "
                                  f"{run.updated} updated, {run.pushed} pushed, {run.failed} failed."
                                  + (f" {run.failure_reason}" if run.failure_reason else ""))
            self.stdout.write(f"{len(issues)} open issue{'s' if len(issues) != 1 else ''}.")
            for issue in issues:
                record = f"{issue['crm_module']} {issue['crm_id']}" if issue["crm_id"] else \
                    f"{issue['erp_model']} {issue['erp_id']}"
                self.stdout.write(f"  #{issue['id']} {record} ×{issue['count']} (last {issue['last_seen']}): "
                                  f"{issue['message']}")
        if run is not None and run.status in ("failed", "skipped", "stopped"):
            raise CommandError(run.failure_reason or "The retry did not run.")
