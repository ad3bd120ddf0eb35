from django.dispatch import receiver

from integration.signals import sync_requested

from . import services


@receiver(sync_requested)
def queue_requested_sync(sender, *, module_config, trigger, user=None, **kwargs):
    return services.run_request(module_config=module_config, trigger=trigger)
