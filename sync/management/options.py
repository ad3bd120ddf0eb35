"""What the sync commands share: --org and --module, the configured module they name, and counts and ids
that must be positive."""

import argparse

from django.core.management.base import CommandError

from integration.models import ModuleConfig, SyncModule
from organizations.selectors import organization_for_command


def positive_int(maximum: int):
    """An argparse type: a whole number from 1 to `maximum`, else a clear usage error (not a traceback from
    a negative slice, nor a database error from a number past what its column holds)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{value} is not between 1 and {maximum}")
        return value

    return parse


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
