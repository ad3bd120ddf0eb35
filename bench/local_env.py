"""The environment a benchmark runs the product in: production settings (DEBUG off), keys made up for the
run, and the HTTPS switches off, since the benchmarks speak plain HTTP on this machine. Set before the
settings are read, so the processes a benchmark starts inherit it."""

import os
import secrets


def local_production_env() -> None:
    from cryptography.fernet import Fernet

    if not os.environ.get("FIELD_ENCRYPTION_KEY"):
        os.environ["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    if not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    for switch in ("SECURE_SSL_REDIRECT", "SECURE_COOKIES", "SECURE_HSTS_SECONDS"):
        os.environ.setdefault(switch, "0")
