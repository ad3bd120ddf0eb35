"""The test suite's settings: production settings (DEBUG off) with keys made up for this run and the
HTTPS switches off, since the test client and the browser tests speak plain HTTP. Set in the environment
before the product's settings are read, so processes the tests start inherit them too."""

import os
import secrets

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
for _switch in ("SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
    os.environ.setdefault(_switch, "0")

from erp_crm.settings import *  # noqa: E402,F403
