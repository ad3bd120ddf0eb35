"""Alerts: admins are told of a sync incident once, in the app and by email (those who keep alert emails
on), and told again when it clears. An incident is a kind (a failed run, no success for two intervals,
three partial runs in a row, authorization lost, credits near the budget, deletions held, a mapped field
gone) for one module or the whole connection; while it is open, the same trouble says nothing new."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from integration.models import ConnectionStatus, CrmConnection, ModuleConfig
from organizations.models import Membership, Role
from organizations.services import notification_create

from . import credits
from .models import EVENT_TRIGGERS, Alert, AlertKind, HeldDeletion, RunStatus, SyncRun, Trigger

log = logging.getLogger("sync")

PARTIAL_STREAK = 3
DONE = (RunStatus.SUCCEEDED, RunStatus.PARTIAL)


def _tell(organization, subject: str, message: str, link: str) -> None:
    admins = Membership.objects.filter(organization=organization, role=Role.ADMIN).select_related("user")
    emails = []
    for membership in admins:
        notification_create(organization=organization, user=membership.user, message=message, link=link)
        if membership.alert_emails and membership.user.email:
            emails.append(membership.user.email)
    if emails:
        try:
            send_mail(f"[{organization.name}] {subject}", f"{message}\n\n{settings.SITE_URL}{link}",
                      settings.DEFAULT_FROM_EMAIL, emails)
        except Exception as error:  # noqa: BLE001 - the alert stands in the app; the log says why no email left
            log.warning("alert email not sent: %s", type(error).__name__)


def open_alert(*, organization, kind: str, message: str, module: str = "") -> bool:
    """Tell the admins of an incident, unless it is open already. True when this call opened it."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(organization=organization, kind=kind, module=module, message=message[:2000])
    except IntegrityError:
        return False  # open already: one alert per incident
    label = f"{dict(ModuleConfig._meta.get_field('module').choices).get(module, '')} sync: " if module else "Zoho CRM: "
    _tell(organization, label + alert.get_kind_display(), label + message, _link(module))
    return True


def resolve_alert(*, organization, kind: str, module: str = "") -> bool:
    """Tell the admins an open incident has cleared. True when there was one."""
    alert = Alert.objects.filter(organization=organization, kind=kind, module=module, resolved_at__isnull=True).first()
    if alert is None:
        return False
    alert.resolved_at = timezone.now()
    alert.save(update_fields=["resolved_at"])
    label = f"{dict(ModuleConfig._meta.get_field('module').choices).get(module, '')} sync" if module else "Zoho CRM"
    _tell(organization, f"Resolved: {alert.get_kind_display()}",
          f"{label}: resolved — {alert.get_kind_display().lower()} no longer holds.", _link(module))
    return True


def _link(module: str) -> str:
    return reverse("sync:status", args=[module]) if module else reverse("integration:details")


def after_run(run: SyncRun) -> None:
    """What a finished run opens or clears."""
    organization, module = run.organization, run.module
    if run.status == RunStatus.FAILED:
        if Alert.objects.filter(organization=organization, kind=AlertKind.FIELD_GONE, module=module,
                                resolved_at__isnull=True).exists():
            return  # the run failed on a mapped field that changed: admins were told of that incident
        open_alert(organization=organization, kind=AlertKind.RUN_FAILED, module=module,
                   message=f"A {run.get_trigger_display().lower()} run failed: {run.failure_reason[:500]}")
        return
    if run.status not in DONE:
        return
    resolve_alert(organization=organization, kind=AlertKind.RUN_FAILED, module=module)
    resolve_alert(organization=organization, kind=AlertKind.STALE, module=module)
    if run.trigger in EVENT_TRIGGERS:
        return
    recent = list(SyncRun.objects.filter(module_config=run.module_config, status__in=DONE)
                  .exclude(trigger__in=(*EVENT_TRIGGERS, Trigger.METRICS, Trigger.IMPORT))
                  .order_by("-finished_at", "-id").values_list("status", flat=True)[:PARTIAL_STREAK])
    if len(recent) == PARTIAL_STREAK and all(status == RunStatus.PARTIAL for status in recent):
        open_alert(organization=organization, kind=AlertKind.PARTIAL, module=module,
                   message=f"The last {PARTIAL_STREAK} runs each left records that failed; see the open issues.")
    elif recent and recent[0] == RunStatus.SUCCEEDED:
        resolve_alert(organization=organization, kind=AlertKind.PARTIAL, module=module)


def check_all(*, now=None) -> None:
    """The incidents no single run tells: modules without a success for two intervals, connections that
    need authorizing again, deletions waiting for approval (beat, every minute)."""
    now = now or timezone.now()
    for config in ModuleConfig.objects.filter(configured=True).select_related("connection__organization"):
        organization, connection = config.connection.organization, config.connection
        if connection.status == ConnectionStatus.NEEDS_REAUTH:
            open_alert(organization=organization, kind=AlertKind.REAUTH,
                       message="Zoho CRM no longer accepts this connection's authorization: nothing syncs until an "
                               "admin connects again (Settings → Zoho Apps).")
        elif connection.status == ConnectionStatus.ACTIVE:
            resolve_alert(organization=organization, kind=AlertKind.REAUTH)
        _check_stale(config, now)
        held = HeldDeletion.objects.filter(module_config=config).count()
        if not held:
            resolve_alert(organization=organization, kind=AlertKind.HELD, module=config.module)
    for connection in CrmConnection.objects.filter(status=ConnectionStatus.ACTIVE).select_related("organization"):
        _check_credits(connection, now)


def _check_credits(connection: CrmConnection, now) -> None:
    budget, spent = credits.budget(connection), credits.used(connection, now=now)
    if budget and spent >= credits.NEAR * budget:
        open_alert(organization=connection.organization, kind=AlertKind.CREDITS,
                   message=f"The syncs spent {spent:,} of their {budget:,} API credits in the last 24 hours; at the "
                           "budget they stop until the window frees credits.")
    elif spent < 0.8 * budget:
        resolve_alert(organization=connection.organization, kind=AlertKind.CREDITS)


def _check_stale(config: ModuleConfig, now) -> None:
    organization = config.connection.organization
    if config.paused or config.connection.status != ConnectionStatus.ACTIVE:
        return
    window = datetime.timedelta(minutes=2 * config.interval_minutes)
    last = (SyncRun.objects.filter(module_config=config, status__in=DONE).exclude(trigger__in=EVENT_TRIGGERS)
            .order_by("-finished_at").values_list("finished_at", flat=True).first())
    since = last or config.configured_at
    if since is not None and since < now - window:
        hours = window.total_seconds() / 3600
        open_alert(organization=organization, kind=AlertKind.STALE, module=config.module,
                   message=f"No sync of this module has succeeded for over {hours:g} hours (two intervals).")
