from django.core.management.base import CommandError

from .models import Organization


def organization_for_command(name: str) -> Organization:
    """The organization a management command's --org names, or a CommandError saying there is none."""
    organization = Organization.objects.filter(name=name).first()
    if organization is None:
        raise CommandError(f"No organization named {name!r}.")
    return organization
