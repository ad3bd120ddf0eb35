import json

from django.core.management.base import BaseCommand, CommandError

from sync import operator
from sync.management.commands.crm_sync import run_json
from sync.management.options import add_module_arguments, configured_module


def held_json(held) -> dict:
    return {"crm_module": held.crm_module, "crm_id": held.crm_id, "erp_model": held.erp_model, "erp_id": held.erp_id,
            "label": held.label, "run_id": held.run_id, "held_at": held.held_at.isoformat()}


class Command(BaseCommand):
    help = ("List the deletions a module's runs held for approval, or decide them: --approve applies the deletion "
            "rules, --reject keeps the records here and unlinks them (all held ones, or --ids CRM_ID ...).")

    def add_arguments(self, parser):
        add_module_arguments(parser)
        parser.add_argument("--json", action="store_true")
        decision = parser.add_mutually_exclusive_group()
        decision.add_argument("--approve", action="store_true")
        decision.add_argument("--reject", action="store_true")
        parser.add_argument("--ids", nargs="+", metavar="CRM_ID", help="Only these CRM records (default: all held)")

    def handle(self, *args, **options):
        config = configured_module(options)
        ids = options["ids"]
        if ids:
            known = set(operator.held_deletions(module_config=config).filter(crm_id__in=ids)
                        .values_list("crm_id", flat=True))
            if unknown := [i for i in ids if i not in known]:
                raise CommandError(f"Not held in {config.get_module_display()}: {', '.join(unknown)}")
        result = {}
        if options["approve"]:
            run = operator.held_approve(module_config=config, crm_ids=ids)
            result["run"] = run_json(run) if run else None
            if run is not None and run.status not in ("succeeded", "partial"):
                raise CommandError(run.failure_reason or "The deletions were not applied.")
        elif options["reject"]:
            result["rejected"] = operator.held_reject(module_config=config, crm_ids=ids)
        held = [held_json(h) for h in operator.held_deletions(module_config=config)]
        if options["json"]:
            self.stdout.write(json.dumps({**result, "held": held}))
            return
        if "run" in result and result["run"]:
            self.stdout.write(f"Approved: {result['run']['deleted']} deleted here, the rest kept and unlinked.")
        if "rejected" in result:
            self.stdout.write(f"Rejected: {result['rejected']} kept here and unlinked.")
        self.stdout.write(f"{len(held)} deletion{'s' if len(held) != 1 else ''} held.")
        for h in held:
            self.stdout.write(f"  {h['crm_module']} {h['crm_id']} ({h['label']}), held {h['held_at']} by run {h['run_id']}")
