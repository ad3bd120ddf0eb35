"""What the sync commands share: --org and --module, and the configured module they name."""

from django.core.management.base import CommandError

from integration.models import ModuleConfig, SyncModule
from organizations.selectors import organization_for_command


def add_module_arguments(parser) -> None:
    parser.add_argument("--org", required=True)
    parser.add_argument("--module", required=True, choices=SyncModule.values)


def configured_module(options: dict) -> ModuleConfig:
    organization = organization_for_command(options["org"])
    config = (ModuleConfig.objects.filter(connection__organization=organization, module=options["module"])
              .select_related("connection__organization").first())
    if config is None or not config.configured:
        raise CommandError(f"{options['module']} is not configured for sync in {organization.name}.")
    return config
