import json

from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integration import selectors, services
from integration.crm.errors import CrmError
from integration.forms import MAP_PREFIX, ModuleConfigForm, map_key
from integration.models import ModuleConfig, SyncModule
from organizations.selectors import organization_for_command


class Command(BaseCommand):
    help = "Configure a module to be synced, with the same rules as the configuration page."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--module", required=True, choices=SyncModule.values)
        parser.add_argument("--crm-source", choices=["accounts", "contacts", "accounts_and_contacts"])
        parser.add_argument("--include-orphan-contacts", action="store_true")
        parser.add_argument("--direction", choices=["fetch", "both"], default="fetch")
        parser.add_argument("--duplicate-key", choices=["name", "sku"], default="name")
        parser.add_argument("--duplicate-action", choices=["clone", "overwrite", "skip"], default="skip")
        parser.add_argument("--view", action="append", default=[],
                            help="CRM custom view id; with Accounts & their Contacts give the Accounts view, "
                                 "then the Contacts view")
        parser.add_argument("--map", action="append", default=[], metavar="[TARGET.]ERP_FIELD=CRM_FIELD",
                            help="e.g. display_name=Account_Name or contact_person.designation=Title")
        parser.add_argument("--auto-map", action="store_true", help="Start from the suggested pairs")
        parser.add_argument("--interval", type=int, choices=[m for m, _ in ModuleConfig.INTERVALS],
                            help="Minutes between polls of the CRM (default: as configured, else 120)")
        parser.add_argument("--deletion-hold", choices=["threshold", "always", "never"],
                            help="When deletions in the CRM wait for an admin (default: as saved)")
        parser.add_argument("--hold-over", type=int, help="… more than this many records at once (default 20)")
        parser.add_argument("--hold-over-percent", type=int, help="… and more than this %% of the linked records")
        parser.add_argument("--sync-now", action="store_true", help="Queue a sync after saving")
        parser.add_argument("--preview", action="store_true",
                            help="Save, then print what the first sync would do (a new module waits for "
                                 "--sync-now to be configured)")
        parser.add_argument("--json", action="store_true", help="With --preview: the preview as JSON")

    def handle(self, *args, **options):
        organization = organization_for_command(options["org"])
        connection = selectors.connection_for(organization)
        if connection is None or not connection.is_active:
            raise CommandError(f"{organization.name} has no active Zoho CRM connection.")
        module = options["module"]
        module_config = services.module_config_for(connection=connection, module=module)
        data = {
            "crm_source": options["crm_source"] or module_config.crm_source or "accounts",
            "direction": options["direction"],
            "duplicate_key": options["duplicate_key"],
            "duplicate_action": options["duplicate_action"],
            "crm_view_id": options["view"][0] if options["view"] else "",
            "contact_view_id": options["view"][1] if len(options["view"]) > 1 else "",
            "interval_minutes": options["interval"] or module_config.interval_minutes,
            "deletion_hold": options["deletion_hold"] or "",
            "hold_over": "" if options["hold_over"] is None else options["hold_over"],
            "hold_over_percent": "" if options["hold_over_percent"] is None else options["hold_over_percent"],
        }
        try:
            metadata = selectors.metadata_load(client=services.client_for(connection), module=module,
                                               crm_source=data["crm_source"])
        except CrmError as error:
            raise CommandError(f"The CRM's fields and views could not be read: {error}") from error
        if options["include_orphan_contacts"]:
            data["include_orphan_contacts"] = "on"
        self.add_mapping(data, options, module_config, metadata)
        form = ModuleConfigForm(data, instance=module_config, metadata=metadata)
        if not form.is_valid():
            problems = [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
            raise CommandError("The configuration was refused:\n  " + "\n  ".join(problems))
        if options["preview"]:
            with transaction.atomic():
                module_config = services.module_config_save(form=form, user=None, sync_now=False, preview=True)
            self.write_preview(module_config, as_json=options["json"])
            return
        module_config = services.module_config_save(form=form, user=None, sync_now=options["sync_now"])
        self.stdout.write(json.dumps(services.module_config_json(module_config), indent=2))

    def write_preview(self, module_config, *, as_json: bool) -> None:
        """The preview the configuration asked for (sent as a signal; the sync answers it)."""
        try:
            found = ModuleConfig.objects.get(pk=module_config.pk).preview
        except ObjectDoesNotExist:
            raise CommandError("No preview was made.") from None
        if found.status == "running":
            self.stdout.write(f"The module is large ({found.progress_total} records): the preview runs in the "
                              "background; its page shows it (Settings → Zoho Apps → the module → Preview).")
            return
        if found.status != "done":
            raise CommandError(f"The preview failed: {found.failure_reason}")
        suggestions = list(module_config.duplicate_suggestions.values("crm_id", "crm_label", "erp_id", "erp_label",
                                                                      "score", "decision"))
        if as_json:
            self.stdout.write(json.dumps({"module": module_config.module, "preview": found.result,
                                          "suggestions": suggestions}))
            return
        self.stdout.write(f"{found.result['records']} CRM records read; the first sync would:")
        for kind, count in found.result["counts"].items():
            if count:
                self.stdout.write(f"  {kind.replace('_', ' ')}: {count}")
        for s in suggestions:
            self.stdout.write(f"  possible duplicate ({s['score']:.0f}): {s['crm_label']} ~ {s['erp_label']} "
                              f"[{s['decision']}]")

    def add_mapping(self, data: dict, options: dict, module_config, metadata) -> None:
        """The mapping fields of `data`: the suggested pairs (--auto-map) or none, then the --map pairs."""
        # Build the form once unbound to learn the mapping fields and the suggested pairs.
        probe = ModuleConfigForm(initial=data, instance=module_config, metadata=metadata)
        default_target = probe.sections[0].target
        for name, field in probe.fields.items():
            if name.startswith(MAP_PREFIX):
                data[name] = field.initial if options["auto_map"] else ""
        for pair in options["map"]:
            erp, _, crm = pair.partition("=")
            target, _, erp_field = erp.rpartition(".")
            key = map_key(target or default_target, erp_field)
            if key not in probe.fields:
                raise CommandError(f"{erp!r} is not a field that can be mapped here.")
            data[key] = crm
