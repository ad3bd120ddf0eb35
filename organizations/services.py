import re

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import CustomField, Membership, Notification, Organization, Role


def organization_create(*, name: str, email: str, country: str, base_currency: str) -> Organization:
    organization = Organization(name=name.strip(), email=email, country=country, base_currency=base_currency)
    organization.full_clean()
    organization.save()
    return organization


@transaction.atomic
def member_create(*, organization: Organization, username: str, role: str, email: str = "",
                  password: str | None = None):
    """Add a user to an organization with a role, creating the user when it does not exist yet (then a
    password that Django's validators accept is needed). An existing user keeps their password: giving one
    for them is refused rather than ignored."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        if not password:
            raise ValidationError(f"{username} is a new user: a password is needed.")
        user = User(username=username, email=email)
        validate_password(password, user)
        user.set_password(password)
        user.full_clean()
        user.save()
    elif password:
        raise ValidationError(f"{username} already exists and keeps their password "
                              f"(manage.py changepassword {username} changes it).")
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    membership.full_clean()
    return membership


def notification_create(*, organization: Organization, user, message: str, link: str = "") -> Notification:
    return Notification.objects.create(organization=organization, user=user, message=message[:500], link=link)


def notifications_mark_read(*, organization: Organization, user, pk: int | None = None) -> int:
    """Mark the user's unread notifications in the organization read (with `pk`, only that one); returns
    how many were unread."""
    unread = Notification.objects.filter(organization=organization, user=user, read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())


def alert_emails_set(*, organization: Organization, memberships) -> None:
    """Sync alerts go by email to these admins of the organization, and no longer to the others."""
    chosen = {m.pk for m in memberships}
    admins = Membership.objects.filter(organization=organization, role=Role.ADMIN)
    admins.filter(pk__in=chosen).update(alert_emails=True)
    admins.exclude(pk__in=chosen).update(alert_emails=False)


def api_name_from_label(label: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", label.strip()).strip("_")
    if not name or not name[0].isalpha():
        name = f"cf_{name}"
    return name[:80]


def custom_field_create(
    *, organization: Organization, module: str, label: str, data_type: str, api_name: str = "", options=None
) -> CustomField:
    field = CustomField(
        organization=organization,
        module=module,
        label=label.strip(),
        api_name=api_name or api_name_from_label(label),
        data_type=data_type,
        options=[o.strip() for o in (options or []) if o.strip()],
    )
    field.full_clean()
    field.save()
    return field
