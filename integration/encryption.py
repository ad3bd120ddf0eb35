"""Encryption at rest for CRM credentials (Fernet). The key comes from the environment, never the database.

FIELD_ENCRYPTION_KEY may hold several comma-separated keys: the first encrypts, all decrypt, so a key
can be rotated without losing stored tokens.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def fernet(keys: str) -> MultiFernet:
    """The Fernet for FIELD_ENCRYPTION_KEY's keys. ImproperlyConfigured when there are none, ValueError when
    one is not a Fernet key."""
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not set: CRM tokens cannot be stored.")
    return MultiFernet([Fernet(k.encode()) for k in parts])


def encrypt(value: str) -> str:
    return fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    try:
        return fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(value.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured("A stored CRM credential cannot be decrypted with FIELD_ENCRYPTION_KEY.") from error


class EncryptedTextField(models.TextField):
    """A text column whose value is Fernet-encrypted in the database and plain in Python."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
