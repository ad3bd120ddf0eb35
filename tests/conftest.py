from .actors import actors  # noqa: F401  (fixture)


def pytest_configure(config):
    from django.conf import settings

    # Password hashing at production strength costs ~0.3 s per user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
