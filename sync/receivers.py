"""What the sync does when other apps say something happened: a configuration asks for a sync or changes
what is synced, a connection is enabled or disabled (its notification channel follows), an invoice
changes (its customer's accounting metrics follow in the CRM), a record is saved here (pushed in seconds
when its module syncs both ways)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from customers.models import ContactPerson, Customer, Invoice
from integration.models import ConnectionStatus, Direction, ErpModel, ModuleConfig
from integration.signals import connection_changed, module_configured, preview_requested, sync_requested
from items.models import Item
from vendors.models import Vendor

from . import enqueue
from .models import RecordLink


@receiver(sync_requested)
def queue_requested_sync(sender, *, module_config, trigger, user=None, **kwargs):
    return enqueue.sync_now(module_config=module_config, trigger=trigger)[0]


@receiver(preview_requested)
def start_preview(sender, *, module_config, **kwargs):
    return enqueue.preview_request(module_config=module_config)


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


@receiver(module_configured)
def module_saved(sender, *, module_config, **kwargs):
    enqueue.notifications_refresh_request(connection_id=module_config.connection_id)


@receiver(connection_changed)
def connection_status_changed(sender, *, connection, **kwargs):
    enqueue.notifications_refresh_request(connection_id=connection.pk)


SAVED = {Customer: ErpModel.CUSTOMER, ContactPerson: ErpModel.CONTACT_PERSON, Vendor: ErpModel.VENDOR,
         Item: ErpModel.ITEM}


def record_saved(sender, instance, raw=False, **kwargs):
    """A customer, contact person, vendor or item saved here (a form, an import, the admin): pushed to the CRM
    a moment later when its module syncs both ways. The sync's own writes send no signal."""
    if raw:
        return
    organization_id = instance.customer.organization_id if sender is ContactPerson else instance.organization_id
    config = ModuleConfig.objects.filter(
        connection__organization_id=organization_id, module=SAVED[sender].module, configured=True, paused=False,
        direction=Direction.BOTH, connection__status=ConnectionStatus.ACTIVE, connection__two_way_allowed=True,
    ).only("pk").first()
    if config is not None:
        enqueue.save_push_request(module_config=config)


for _model in SAVED:
    post_save.connect(record_saved, sender=_model, dispatch_uid=f"sync-push-on-save-{_model.__name__}")
