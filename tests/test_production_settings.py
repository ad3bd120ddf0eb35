"""With DEBUG off the process refuses to start without its keys, HTTPS protections are on unless switched
off, and `check --deploy` with the README's production environment prints no warning."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SHOW = ("from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, getattr(s, 'SECURE_PROXY_SSL_HEADER', None))")


def python(code: str, tmp_path, **env) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "erp_crm.settings"}
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
                          env={**base, **env}, capture_output=True, text=True, timeout=120)


def keys() -> dict:
    return {"SECRET_KEY": secrets.token_urlsafe(50), "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()}


def test_without_its_keys_the_process_stops_at_start_saying_what_is_missing(tmp_path):
    both = python("print('started')", tmp_path, DEBUG="0")
    assert both.returncode != 0 and "started" not in both.stdout
    assert "SECRET_KEY and FIELD_ENCRYPTION_KEY must be set in the environment when DEBUG is off" in both.stderr
    one = python("print('started')", tmp_path, DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    assert one.returncode != 0 and "FIELD_ENCRYPTION_KEY must be set" in one.stderr
    assert python("print('started')", tmp_path, DEBUG="1").stdout.strip() == "started"  # development keys


def test_https_protections_are_on_by_default_and_each_can_be_switched(tmp_path):
    on = python(SHOW, tmp_path, DEBUG="0", **keys())
    assert on.stdout.split() == ["True", "True", "True", "31536000", "None"], on.stderr
    proxied = python(SHOW, tmp_path, DEBUG="0", SECURE_SSL_REDIRECT="0", SECURE_COOKIES="0",
                     SECURE_HSTS_SECONDS="0", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO", **keys())
    assert proxied.stdout.split() == ["False", "False", "False", "0", "('HTTP_X_FORWARDED_PROTO',", "'https')"]
    assert python(SHOW, tmp_path, DEBUG="1").stdout.split()[:4] == ["False", "False", "False", "0"]


def readme_production_environment() -> dict:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- production environment -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "the README documents the production environment"
    found = {}
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition("=")
            found[name] = value
    return found


def test_check_deploy_with_the_readme_production_environment_prints_no_warning(tmp_path):
    env = {**readme_production_environment(), **keys(), "DATABASE_URL": f"sqlite:///{tmp_path / 'erp.sqlite3'}",
           "PATH": os.environ["PATH"], "HOME": str(tmp_path), "VAR_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "erp_crm.settings"}
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_docker_compose_passes_the_required_variables():
    compose = (ROOT / "docker-compose.yml").read_text()
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
        assert f"{name}: ${{{name}:?set {name}}}" in compose  # compose itself refuses to start without it
    for name in ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SITE_URL", "SECURE_PROXY_SSL_HEADER", "ZOHO_CLIENT_ID",
                 "ZOHO_CLIENT_SECRET", "METRICS_TOKEN", "LOG_FORMAT"):
        assert f"{name}: ${{{name}:-" in compose
