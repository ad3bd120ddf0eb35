"""CRM notifications: one Zoho Watch channel per connection for the CRM modules it syncs, kept alive by the
beat, and the callbacks it brings, taken as hints that a few records changed.

A callback is never trusted beyond its channel: it must name a channel of ours with that channel's token,
and only the module and the record ids are read from it; the records themselves are fetched from the CRM
and applied through the engine like any others. The two-hourly poll stays the safety net, so a lost
callback costs time, never a change.
"""

from __future__ import annotations

import datetime
import hmac
import json
import logging
import re
import secrets

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integration.crm.errors import CrmError
from integration.models import CrmConnection, ModuleConfig
from integration.services import client_for

from .engine import run as engine
from .engine import slot
from .engine.adapters import reads_for
from .models import NotificationChannel, PendingChange, RunStatus

log = logging.getLogger("sync")

LIFETIME = datetime.timedelta(days=7)  # the longest channel Zoho grants
RENEW_BEFORE = datetime.timedelta(days=2)  # renewed this long before it would expire
CHECK_EVERY = datetime.timedelta(days=1)  # asked of the CRM whether it still has it (a lost channel is made again)
RETRY_TROUBLE_EVERY = datetime.timedelta(minutes=15)  # a channel the CRM refused is tried again this often
MAX_BODY = 64 * 1024
MAX_IDS = 1000
OPERATIONS = {"insert", "update", "delete"}
_ID = re.compile(r"^\d{1,40}$")


class Refused(Exception):
    """A callback that is not ours (or not readable): the HTTP status and why, for the log."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def enabled() -> bool:
    """Notifications need an address the CRM can call: SITE_URL."""
    return bool(settings.SITE_URL)


def notify_url() -> str:
    return settings.SITE_URL + reverse("sync:crm_notify")


def watched_modules(connection: CrmConnection) -> list[str]:
    """The CRM modules the connection's configured modules fetch (paused ones too: their callbacks are muted
    here, so that resuming needs no call to the CRM)."""
    modules = []
    for config in ModuleConfig.objects.filter(connection=connection, configured=True).select_related("connection"):
        modules += [read.crm_module for read in reads_for(config)]
    return list(dict.fromkeys(modules))


# --- the channel ------------------------------------------------------------------------------------------


def _expiry_text(now) -> str:
    return (now + LIFETIME).astimezone(datetime.UTC).isoformat(timespec="seconds")


def channel_refresh(*, connection: CrmConnection, client=None) -> NotificationChannel | None:
    """Make the connection's channel match what it syncs: subscribe it, update its events, renew it, or
    remove it when nothing (or no address) is left. Returns the channel, or None."""
    channel = NotificationChannel.objects.filter(connection=connection).first()
    modules = watched_modules(connection) if connection.is_active and enabled() else []
    client = client or client_for(connection, retry_budget=20)
    if not modules:
        if channel is not None:
            channel_remove(connection=connection, client=client)
        return None
    events = [f"{module}.all" for module in modules]
    now = timezone.now()
    if channel is None:
        channel = NotificationChannel(connection=connection, channel_id=str(secrets.randbelow(9 * 10**17) + 10**17),
                                      token=secrets.token_urlsafe(30))
    body = {"channel_id": channel.channel_id, "events": events, "notify_url": notify_url(), "token": channel.token,
            "channel_expiry": _expiry_text(now)}
    unchanged = channel.subscribed_at and channel.events == events and channel.notify_url == body["notify_url"]
    try:
        if unchanged:  # a renewal: only the expiry
            result = client.watch({"channel_id": channel.channel_id, "channel_expiry": body["channel_expiry"]},
                                  method="PATCH")
        else:
            result = client.watch(body, method="PUT" if channel.subscribed_at else "POST")
        if not result.ok and result.code == "NOT_SUBSCRIBED":  # lost in the CRM (expired, or removed there)
            result = client.watch(body, method="POST")
    except CrmError as error:
        return _trouble(channel, f"Zoho CRM refused the notification channel: {error}")
    if not result.ok:
        return _trouble(channel, f"Zoho CRM refused the notification channel: {result.code} {result.message}".strip())
    channel.events, channel.notify_url, channel.problem = events, body["notify_url"], ""
    channel.expires_at, channel.checked_at = now + LIFETIME, now
    channel.subscribed_at = channel.subscribed_at or now
    channel.save()
    return channel


def _trouble(channel: NotificationChannel, problem: str) -> NotificationChannel:
    log.warning("notification channel of %s: %s", channel.connection, problem)
    channel.problem, channel.checked_at = problem[:500], timezone.now()
    if channel.pk is not None:
        channel.save(update_fields=["problem", "checked_at"])
    return channel


def channel_remove(*, connection: CrmConnection, client=None) -> None:
    """Unsubscribe and forget the channel. The CRM's refusal (it was gone already) does not stop it."""
    channel = NotificationChannel.objects.filter(connection=connection).first()
    if channel is None:
        return
    try:
        (client or client_for(connection, retry_budget=20)).watch_remove([channel.channel_id])
    except CrmError as error:
        log.info("notification channel %s not removed in the CRM: %s", channel.channel_id, error)
    channel.delete()


def channels_to_refresh(*, now=None) -> list[int]:
    """Connections whose channel is close to expiring, unchecked for a day, or in trouble."""
    now = now or timezone.now()
    channels = NotificationChannel.objects.filter(connection__status="active")
    due = (channels.filter(problem="", expires_at__lt=now + RENEW_BEFORE)
           | channels.filter(checked_at__lt=now - CHECK_EVERY)
           | channels.exclude(problem="").filter(checked_at__lt=now - RETRY_TROUBLE_EVERY))
    return list(due.values_list("connection_id", flat=True).distinct())


def status(*, connection: CrmConnection) -> dict:
    """What the status pages and `crm_notifications` say: the mode and the channel's facts."""
    channel = NotificationChannel.objects.filter(connection=connection).first()
    if not enabled():
        mode, why = "polling", "Notifications are off: this ERP has no public address (SITE_URL), so Zoho CRM " \
                               "cannot call it. Changes arrive with the scheduled polls."
    elif channel is None:
        mode, why = "polling", "No notification channel yet: it is made when a module is configured."
    elif not channel.live:
        mode, why = "polling", channel.problem or "The notification channel has expired; it is renewed shortly."
    else:
        mode, why = "live", "Zoho CRM notifies this ERP of changes, which arrive in seconds; the scheduled poll " \
                            "catches anything a notification missed."
    return {"mode": mode, "why": why, "channel": channel}


# --- callbacks --------------------------------------------------------------------------------------------


def _read(body: bytes) -> dict:
    if len(body) > MAX_BODY:
        raise Refused(413, "the body is too large")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise Refused(400, "the body is not a JSON object")
    return payload


def callback_receive(body: bytes) -> tuple[NotificationChannel, str, list[str], str]:
    """Check a callback and keep the records it names for the next run. Returns (channel, module, ids,
    what happens: "queued" or why it is ignored). Raises Refused for a callback that is not ours."""
    payload = _read(body)
    channel = NotificationChannel.objects.select_related("connection").filter(
        channel_id=str(payload.get("channel_id") or "")[:20]).first()
    token = payload.get("token")
    if channel is None or not isinstance(token, str) or not hmac.compare_digest(token.encode(), channel.token.encode()):
        raise Refused(403, "unknown channel or wrong token")
    module = payload.get("module")
    ids = payload.get("ids")
    if not isinstance(module, str) or not isinstance(ids, list) or payload.get("operation") not in OPERATIONS:
        raise Refused(400, "not a notification")
    ids = list(dict.fromkeys(str(i) for i in ids if isinstance(i, str | int) and _ID.match(str(i))))[:MAX_IDS]
    now = timezone.now()
    NotificationChannel.objects.filter(pk=channel.pk).update(last_callback_at=now, callbacks=channel.callbacks + 1)
    reason = _ignored(channel, module)
    if reason:
        return channel, module, ids, reason
    PendingChange.objects.bulk_create([PendingChange(connection=channel.connection, crm_module=module, crm_id=crm_id)
                                       for crm_id in ids], ignore_conflicts=True)
    return channel, module, ids, "queued"


def _ignored(channel: NotificationChannel, module: str) -> str:
    """Why the changes of a callback are not fetched ("" when they are)."""
    connection = channel.connection
    if not connection.is_active:
        return "the integration is not active"
    configs = [c for c in ModuleConfig.objects.filter(connection=connection, configured=True).select_related(
        "connection") if module in {read.crm_module for read in reads_for(c)}]
    if not configs:
        return f"{module} is not synced"
    if all(c.paused for c in configs):
        return "the module is paused"
    return ""


def run_due(*, channel: NotificationChannel, delay: datetime.timedelta) -> bool:
    """Mark a run for the announced changes due shortly. True when this call opened the window (and so
    must queue the run): callbacks that come close together make one run."""
    with transaction.atomic():
        return bool(NotificationChannel.objects.filter(pk=channel.pk, run_due_at__isnull=True).update(
            run_due_at=timezone.now() + delay))


# --- applying what callbacks announced ----------------------------------------------------------------------

PENDING_KEPT = datetime.timedelta(days=1)  # announced changes no run could take (the poll had them anyway)


def changes_apply(*, connection_id: int) -> str:
    """The changes callbacks announced for a connection, applied: one run per module configuration that
    syncs their CRM modules (trigger "notification"). A module whose slot is busy keeps its changes for
    the next try ("busy"); a paused one drops them (its callbacks are muted)."""
    NotificationChannel.objects.filter(connection_id=connection_id).update(run_due_at=None)
    pending = list(PendingChange.objects.filter(connection_id=connection_id))
    connection = CrmConnection.objects.filter(pk=connection_id).first()
    if connection is None or not pending:
        return "nothing"
    since = min(p.received_at for p in pending) - datetime.timedelta(minutes=5)
    by_module: dict[str, list[PendingChange]] = {}
    for change in pending:
        by_module.setdefault(change.crm_module, []).append(change)
    busy, done, lags = False, [], []
    for config in ModuleConfig.objects.filter(connection=connection, configured=True).select_related("connection"):
        modules = {read.crm_module for read in reads_for(config)} & set(by_module)
        if not modules:
            continue
        run, lag = engine.run_changes(module_config=config, since=since,
                                      changes={m: [c.crm_id for c in by_module[m]] for m in modules})
        if run.status == RunStatus.SKIPPED and run.failure_reason == slot.IN_PROGRESS_REASON:
            busy = True
            continue
        done += [c.pk for m in modules for c in by_module.pop(m)]
        if lag is not None:
            lags.append(lag)
    done += [c.pk for changes in by_module.values() for c in changes if not busy]  # modules nothing syncs
    PendingChange.objects.filter(pk__in=done).delete()
    if lags:
        NotificationChannel.objects.filter(connection_id=connection_id).update(
            last_applied_at=timezone.now(), last_lag_seconds=round(max(lags), 3))
    return "busy" if busy else "done"


def stale_changes_forget(*, now=None) -> int:
    """Announced changes older than a day that no run took: the poll has read them since."""
    return PendingChange.objects.filter(received_at__lt=(now or timezone.now()) - PENDING_KEPT).delete()[0]
