from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from . import encryption


@register()
def check_encryption_key(app_configs, **kwargs):
    try:
        encryption.fernet(settings.FIELD_ENCRYPTION_KEY)
    except ImproperlyConfigured:
        return [
            Error(
                "FIELD_ENCRYPTION_KEY is not set.",
                hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
                id="integration.E001",
            )
        ]
    except ValueError:
        return [Error("FIELD_ENCRYPTION_KEY is not a valid Fernet key.", id="integration.E002")]
    return []
