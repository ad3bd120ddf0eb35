"""Sync health on the Zoho CRM page, which belongs to the integration app (and so cannot import sync)."""

from django import template

from .. import health

register = template.Library()


@register.simple_tag
def connection_health(connection):
    """Per configured module its health, and the connection's API credits (health.connection_health)."""
    return health.connection_health(connection)


@register.filter
def since(delta) -> str:
    """A timedelta as people say it: "3 min", "2 h 5 min", "4 days"."""
    if delta is None:
        return "never"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
