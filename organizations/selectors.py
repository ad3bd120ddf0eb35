from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from .models import Organization


def organization_for_command(name: str) -> Organization:
    """The organization a management command's --org names, or a CommandError saying there is none."""
    organization = Organization.objects.filter(name=name).first()
    if organization is None:
        raise CommandError(f"No organization named {name!r}.")
    return organization


def organization_members(*, organization: Organization):
    """The active users who are members of `organization`, by name."""
    return (
        get_user_model()
        .objects.filter(memberships__organization=organization, is_active=True)
        .order_by("first_name", "last_name", "email", "username")
    )
