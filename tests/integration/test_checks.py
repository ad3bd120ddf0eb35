"""The startup check of FIELD_ENCRYPTION_KEY."""

import pytest
from cryptography.fernet import Fernet

from integration.checks import check_encryption_key


@pytest.mark.parametrize(("key", "ids"), [
    ("", ["integration.E001"]),
    (" , ", ["integration.E001"]),
    ("not-a-key", ["integration.E002"]),
    (f"{Fernet.generate_key().decode()},not-a-key", ["integration.E002"]),
    (Fernet.generate_key().decode(), []),
    (f"{Fernet.generate_key().decode()}, {Fernet.generate_key().decode()}", []),
])
def test_the_encryption_key_is_checked_at_startup(settings, key, ids):
    settings.FIELD_ENCRYPTION_KEY = key
    assert [error.id for error in check_encryption_key(None)] == ids
