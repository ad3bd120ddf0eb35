"""Signals the integration sends; the sync app listens (it may import us, we never import it)."""

from django.dispatch import Signal

# Sent when an admin asks a module to sync now ("Save and Sync"): kwargs module_config, trigger, user.
sync_requested = Signal()

# Sent when what a connection syncs may have changed: a module saved (kwargs module_config), the
# connection enabled or disabled (kwargs connection). The sync keeps its CRM notification channel in line.
module_configured = Signal()
connection_changed = Signal()

# Sent when an admin asks what a module's first sync would do ("Preview"): kwargs module_config.
preview_requested = Signal()
