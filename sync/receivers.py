"""What the sync does when other apps say something happened: a configuration asks for a sync, an invoice
changes (its customer's accounting metrics follow in the CRM)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from customers.models import Invoice
from integration.models import ConnectionStatus, ErpModel
from integration.signals import sync_requested

from . import enqueue
from .models import RecordLink


@receiver(sync_requested)
def queue_requested_sync(sender, *, module_config, trigger, user=None, **kwargs):
    return enqueue.sync_now(module_config=module_config, trigger=trigger)[0]


@receiver(post_save, sender=Invoice)
def invoice_changed(sender, instance: Invoice, **kwargs):
    """A linked customer's invoice changed: push its accounting metrics to the CRM, debounced."""
    link = (
        RecordLink.objects.filter(erp_model=ErpModel.CUSTOMER, erp_id=instance.customer_id,
                                  connection__status=ConnectionStatus.ACTIVE)
        .values_list("connection_id", flat=True)
        .first()
    )
    if link is not None:
        enqueue.metrics_push_request(connection_id=link)
