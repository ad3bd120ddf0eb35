from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register


@register()
def check_encryption_key(app_configs, **kwargs):
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k.strip()]
    if not keys:
        return [
            Error(
                "FIELD_ENCRYPTION_KEY is not set.",
                hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
                id="integration.E001",
            )
        ]
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError:
            return [Error("FIELD_ENCRYPTION_KEY is not a valid Fernet key.", id="integration.E002")]
    return []
