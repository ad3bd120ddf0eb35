"""Sync health, as the Zoho CRM page, the status pages and `crm_health` show it: per module, ok / warning /
failing and why, the time since the last successful run, open issues, held deletions, the notification
channel; per connection, the API credits of the last 24 hours against the budget; per day, records and
failures of the last 30 days."""

from __future__ import annotations

import datetime

from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from integration.models import ConnectionStatus, ModuleConfig

from . import credits, notifications
from .models import EVENT_TRIGGERS, HeldDeletion, OpenIssue, RunStatus, SyncRun

OK, WARNING, FAILING = "ok", "warning", "failing"
DAYS = 30


def module_health(config: ModuleConfig, *, now=None) -> dict:
    now = now or timezone.now()
    runs = SyncRun.objects.filter(module_config=config).exclude(trigger__in=("metrics", "import"))
    success = (runs.filter(status__in=(RunStatus.SUCCEEDED, RunStatus.PARTIAL)).order_by("-finished_at")
               .values_list("finished_at", flat=True).first())
    last = runs.exclude(trigger__in=EVENT_TRIGGERS).exclude(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).first()
    issues = OpenIssue.objects.filter(module_config=config, closed_at__isnull=True).count()
    held = HeldDeletion.objects.filter(module_config=config).count()
    state, why = _state(config, last, success, issues, held, now)
    return {"config": config, "state": state, "why": why, "last_success": success,
            "since_success": now - success if success else None, "open_issues": issues, "held": held,
            "last": last}


def _state(config, last, success, issues: int, held: int, now) -> tuple[str, str]:
    connection = config.connection
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        return FAILING, "Zoho CRM needs authorizing again."
    if config.broken_mapping:
        return FAILING, "A mapped CRM field changed: fix the mapping."
    if last is not None and last.status == RunStatus.FAILED:
        return FAILING, f"The last run failed: {last.failure_reason[:200]}"
    if connection.status == ConnectionStatus.DISABLED or config.paused:
        return WARNING, "Paused." if config.paused else "The integration is disabled."
    if last is not None and last.status == RunStatus.STOPPED:
        return WARNING, "Stopped at the API credit budget."
    if held:
        return WARNING, f"{held} deletion{'s' if held != 1 else ''} wait{'s' if held == 1 else ''} for approval."
    stale = datetime.timedelta(minutes=2 * config.interval_minutes)
    if config.configured and (success or config.configured_at) and (success or config.configured_at) < now - stale:
        return WARNING, "No successful run for two intervals."
    if issues:
        return WARNING, f"{issues} record{'s' if issues != 1 else ''} fail{'s' if issues == 1 else ''} to sync."
    return OK, "Syncing."


def connection_health(connection, *, now=None) -> dict:
    """Credits, and each configured module's health."""
    now = now or timezone.now()
    used, budget, allowance = credits.used(connection, now=now), credits.budget(connection), credits.allowance(connection)
    return {
        "modules": [module_health(c, now=now) for c in connection.module_configs.filter(configured=True)
                    .select_related("connection").order_by("module")],
        "credits": {"used": used, "budget": budget, "allowance": allowance, "percent": connection.credit_budget_percent,
                    "share": round(100 * used / budget, 1) if budget else 0.0,
                    "remaining": connection.credits_remaining, "refusal": credits.refusal(connection, now=now)},
        "notifications": notifications.status(connection=connection),
    }


def daily(runs, *, days: int = DAYS, now=None) -> list[dict]:
    """Records synced and failed per day over the last `days` days, oldest first (every day, zeros too)."""
    today = timezone.localdate(now or timezone.now())
    first = today - datetime.timedelta(days=days - 1)
    rows = (runs.filter(queued_at__date__gte=first).annotate(day=TruncDate("queued_at")).values("day")
            .annotate(records=Sum(F("added") + F("updated") + F("deleted") + F("pushed")), failed=Sum("failed")))
    by_day = {row["day"]: row for row in rows}
    return [{"day": day, "records": (by_day.get(day) or {}).get("records") or 0,
             "failed": (by_day.get(day) or {}).get("failed") or 0}
            for day in (first + datetime.timedelta(days=n) for n in range(days))]
