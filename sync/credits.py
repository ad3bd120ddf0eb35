"""API credits: Zoho counts credits per CRM organization over a rolling 24 hours, shared with every other
tool on it. Each run records what it spent; a connection may use `credit_budget_percent` of the daily
allowance (80 % by default: the rest is left to other tools). At the budget, runs stop with the reason
and go on when the window frees credits."""

from __future__ import annotations

import datetime

from django.db.models import Sum
from django.utils import timezone

from integration.models import CrmConnection, CrmUser

from .models import SyncRun

WINDOW = datetime.timedelta(hours=24)
# Credits per 24 hours by edition (zoho-crm-api.md 11.1): (base, per user, cap).
ALLOWANCE = {"free": (5_000, 0, 5_000), "standard": (50_000, 250, 100_000), "starter": (50_000, 250, 100_000),
             "professional": (50_000, 500, 3_000_000), "enterprise": (50_000, 1_000, 5_000_000),
             "zohoone": (50_000, 1_000, 5_000_000), "ultimate": (50_000, 2_000, None), "crmplus": (50_000, 2_000, None)}
NEAR = 0.9  # an alert once this share of the budget is used


def allowance(connection: CrmConnection) -> int:
    """The CRM organization's credits per 24 hours, from its edition and its users."""
    base, per_user, cap = ALLOWANCE.get(connection.crm_edition.replace(" ", "").lower(), ALLOWANCE["professional"])
    users = CrmUser.objects.filter(connection=connection).count()
    total = base + per_user * users
    return min(total, cap) if cap else total


def used(connection: CrmConnection, *, now=None) -> int:
    """Credits this connection's runs spent in the last 24 hours."""
    since = (now or timezone.now()) - WINDOW
    runs = SyncRun.objects.filter(module_config__connection=connection, queued_at__gte=since)
    return runs.aggregate(total=Sum("credits"))["total"] or 0


def budget(connection: CrmConnection) -> int:
    return allowance(connection) * connection.credit_budget_percent // 100


def reserve(connection: CrmConnection) -> int:
    """The credits left to other tools: the allowance less this connection's budget."""
    return allowance(connection) - budget(connection)


def left(connection: CrmConnection, *, now=None) -> int:
    """What runs may still spend now: the budget less what they spent, and less what other tools took when
    the CRM says how much is left of the whole allowance (recently)."""
    now = now or timezone.now()
    mine = budget(connection) - used(connection, now=now)
    if connection.credits_remaining is not None and connection.credits_remaining_at and \
            connection.credits_remaining_at > now - datetime.timedelta(hours=1):
        mine = min(mine, connection.credits_remaining - reserve(connection))
    return max(0, mine)


def frees_at(connection: CrmConnection, *, now=None) -> datetime.datetime | None:
    """When the rolling window next gives credits back: 24 hours after the oldest run in it."""
    since = (now or timezone.now()) - WINDOW
    oldest = (SyncRun.objects.filter(module_config__connection=connection, queued_at__gte=since, credits__gt=0)
              .order_by("queued_at").values_list("queued_at", flat=True).first())
    return oldest + WINDOW if oldest else None


def refusal(connection: CrmConnection, *, now=None) -> str | None:
    """Why no run may start now for lack of credits, or None."""
    if left(connection, now=now) > 0:
        return None
    when = frees_at(connection, now=now)
    after = f" from about {timezone.localtime(when):%Y-%m-%d %H:%M}" if when else " as the 24-hour window moves on"
    return (f"The API credit budget is used up ({budget(connection):,} of {allowance(connection):,} daily credits, "
            f"{connection.credit_budget_percent} %, the rest left to other tools); syncing goes on{after}.")


def note_remaining(connection: CrmConnection, remaining: int | None) -> None:
    """Keep what the CRM said is left of the daily allowance."""
    if remaining is not None:
        CrmConnection.objects.filter(pk=connection.pk).update(credits_remaining=remaining,
                                                              credits_remaining_at=timezone.now())
        connection.credits_remaining, connection.credits_remaining_at = remaining, timezone.now()


def run_refusal(config) -> str | None:
    """Why no run of this module may start now: its own state (paused, disabled …), then the credits."""
    return config.sync_refusal() or refusal(config.connection)
