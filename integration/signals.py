"""Signals the integration sends; the sync app listens (it may import us, we never import it)."""

from django.dispatch import Signal

# Sent when an admin asks a module to sync now ("Save and Sync"): kwargs module_config, trigger, user.
sync_requested = Signal()
