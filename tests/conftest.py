from .actors import actors  # noqa: F401  (fixture)
from .sandbox import connection, crm_sandbox, sandbox  # noqa: F401  (fixtures)
from .worker import celery_worker  # noqa: F401  (fixture)


def pytest_configure(config):
    from cryptography.fernet import Fernet
    from django.conf import settings

    # Password hashing at production strength costs ~0.3 s per user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if not settings.FIELD_ENCRYPTION_KEY:
        settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
