from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from customers.models import Invoice
from integration.models import ConnectionStatus
from integration.signals import sync_requested

from . import metrics, services
from .models import RecordLink


@receiver(sync_requested)
def queue_requested_sync(sender, *, module_config, trigger, user=None, **kwargs):
    return services.sync_now(module_config=module_config, trigger=trigger)[0]


@receiver(post_save, sender=Invoice)
def invoice_changed(sender, instance: Invoice, **kwargs):
    """A linked customer's invoice changed: push its accounting metrics to the CRM, debounced."""
    link = (
        RecordLink.objects.filter(erp_model="customer", erp_id=instance.customer_id,
                                  connection__status=ConnectionStatus.ACTIVE)
        .values_list("connection_id", flat=True)
        .first()
    )
    if link is not None:
        schedule_metrics_push(connection_id=link)


def schedule_metrics_push(*, connection_id: int) -> bool:
    """Queue one metrics push a little later unless one is already due (many edits, one push)."""
    from .tasks import push_customer_metrics

    if not metrics.metrics_due(connection_id=connection_id):
        return False
    transaction.on_commit(lambda: push_customer_metrics.apply_async(
        (connection_id,), countdown=settings.CRM_METRICS_DEBOUNCE_SECONDS))
    return True
