from celery import shared_task
from django.contrib.auth import get_user_model

from organizations.models import Organization
from organizations.services import notification_create

from . import services


@shared_task(acks_late=True, time_limit=300)
def mark_overdue_invoices(organization_id: int, user_id: int | None = None) -> int:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    changed = services.invoices_mark_overdue(organization=organization)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user is not None:
        notification_create(
            organization=organization,
            user=user,
            message=(f"Invoice statuses updated: {changed} invoice{'s are' if changed != 1 else ' is'} now overdue."
                     if changed else "Invoice statuses updated: no invoice is newly overdue."),
            link="/sales/invoices/?view=overdue",
        )
    return changed


@shared_task(acks_late=True, time_limit=600)
def mark_overdue_all() -> int:
    return services.invoices_mark_overdue()
