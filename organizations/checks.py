"""Startup checks for configuration that would otherwise fail later, in the middle of work."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs):
    if not settings.DEBUG and settings.SECRET_KEY == settings.INSECURE_DEV_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is not set.",
                hint="Set SECRET_KEY in the environment (DEBUG=1 allows the development key).",
                id="erp.E001",
            )
        ]
    return []


@register()
def check_broker_url(app_configs, **kwargs):
    url = settings.CELERY_BROKER_URL
    if "://" not in url:
        return [Error(f"CELERY_BROKER_URL is malformed: {url.split('@')[-1]!r}", id="erp.E002")]
    scheme = url.split("://", 1)[0]
    if scheme not in {"redis", "rediss", "amqp", "amqps", "filesystem", "memory", "sqla+sqlite"}:
        return [Error(f"CELERY_BROKER_URL has an unsupported scheme {scheme!r}", id="erp.E002")]
    return []
