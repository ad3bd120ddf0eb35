"""The one settings file. Everything that differs between machines comes from the environment."""

from pathlib import Path

import environ
from kombu import Queue

from erp_crm import logging as erp_logging

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "testserver"]),
    CRM_ALLOW_LOOPBACK=(bool, False),
)

DEBUG = env("DEBUG")
# The fallback key is only good enough for a developer's own machine (DEBUG=1); with DEBUG off the process
# refuses to start without SECRET_KEY and FIELD_ENCRYPTION_KEY (below, at the end of the CRM settings).
INSECURE_DEV_SECRET_KEY = "insecure-development-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "organizations",
    "customers",
    "vendors",
    "items",
    "integration",
    "sync",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "organizations.middleware.CurrentOrganizationMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "erp_crm.urls"
WSGI_APPLICATION = "erp_crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "organizations.context_processors.current_organization",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'erp.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Worker, beat and web share the file in the demo: wait for locks rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in brute force (django-axes, on the app's and the admin's login pages): after AXES_FAILURE_LIMIT
# failures for one user name from one address, that pair is locked out for AXES_COOLOFF_HOURS; a success
# clears the count. `manage.py axes_reset_username NAME` (or axes_reset_ip, axes_reset) unlocks.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "organizations/locked_out.html"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
# HTTPS: on by default when DEBUG is off, each switch its own variable. Behind a proxy that ends TLS and
# tells us so in a header (X-Forwarded-Proto: https), name that header in SECURE_PROXY_SSL_HEADER
# (HTTP_X_FORWARDED_PROTO); only do so when the proxy always sets or overwrites it.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if _proxy_header := env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = (_proxy_header, "https")

# Celery: the embedded default needs no server (kombu's filesystem transport under var/).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    # kombu's filesystem transport does not create its folders.
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Task events for monitors such as Flower (`celery -A erp_crm flower`); workers log through LOGGING.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Two queues: "sync" holds module runs (many, some long), "celery" everything else (beat's tick, pushes of
# saved records, notifications, metrics), so the quick tasks never wait behind a queue of runs. A worker
# consumes both unless told otherwise (-Q sync, -Q celery); a run that has worked a while goes to the back
# of "sync" (CRM_RUN_SLICE_SECONDS), so no organization waits for another's long first load.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("sync"))
CELERY_TASK_ROUTES = {"sync.tasks.sync_module": {"queue": "sync"}}
# The beat schedule lives here, in one place: every periodic task of every app.
CELERY_BEAT_SCHEDULE: dict = {
    "mark-overdue-invoices": {"task": "customers.tasks.mark_overdue_all", "schedule": 3600.0},
    # Asks the database which module syncs are due (each every interval_minutes, two hours by default).
    "sync-tick": {"task": "sync.tasks.tick", "schedule": 60.0},
}

# The CRM integration.
CRM_ALLOW_LOOPBACK = env("CRM_ALLOW_LOOPBACK")
# Fernet key(s) for CRM tokens at rest; comma-separated to rotate (the first one encrypts).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
if not FIELD_ENCRYPTION_KEY and DEBUG:
    # A developer's machine and the demo get a key of their own, kept beside the SQLite database.
    _key_file = VAR_DIR / "field-encryption-key"
    if not _key_file.exists():
        from cryptography.fernet import Fernet

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(Fernet.generate_key().decode())
        _key_file.chmod(0o600)
    FIELD_ENCRYPTION_KEY = _key_file.read_text().strip()
if not DEBUG and (_missing := [name for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY") if not globals()[name]]):
    # gunicorn and Celery run no system checks: stop here, before a request or a task meets the gap.
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"{' and '.join(_missing)} must be set in the environment when DEBUG is off (see the README's "
        "Configuration). DEBUG=1 runs with development keys.")
# Email (sync alerts): SMTP from the environment; the console in development and the demo.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend" if DEBUG
                        else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="erp@localhost")
# The ERP's public base URL (https://erp.example.com): Zoho CRM's notifications call it back. Empty, the
# sync only polls.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")
# Callbacks within this many seconds make one run; saves here within this many seconds make one push.
CRM_NOTIFY_COALESCE_SECONDS = env.float("CRM_NOTIFY_COALESCE_SECONDS", default=0.5)
CRM_SAVE_PUSH_DEBOUNCE_SECONDS = env.float("CRM_SAVE_PUSH_DEBOUNCE_SECONDS", default=1.0)
# A first pass over a CRM module with more records than this reads Bulk Read jobs' files (50 credits a job)
# rather than pages of 200 (a credit each); a job not done within the timeout leaves it to the pages.
# A run in a worker gives its place back after this many seconds (between two pages) and is queued again
# behind the others, so one organization's long first load never holds the rest up; 0: never.
CRM_RUN_SLICE_SECONDS = env.int("CRM_RUN_SLICE_SECONDS", default=60)
CRM_BULK_READ_THRESHOLD = env.int("CRM_BULK_READ_THRESHOLD", default=5000)
CRM_BULK_READ_TIMEOUT_SECONDS = env.int("CRM_BULK_READ_TIMEOUT_SECONDS", default=3600)
# A large load writes each page on a second database connection while it plans the next.
CRM_PIPELINED_WRITES = env.bool("CRM_PIPELINED_WRITES", default=True)
# A record's Sync tab keeps the changes of this many days (beat prunes older ones).
CRM_TIMELINE_DAYS = env.int("CRM_TIMELINE_DAYS", default=180)
# Invoice edits within this many seconds cause one push of accounting metrics to the CRM.
CRM_METRICS_DEBOUNCE_SECONDS = env.int("CRM_METRICS_DEBOUNCE_SECONDS", default=60)
# GET /metrics (Prometheus text format) answers only with "Authorization: Bearer <METRICS_TOKEN>"; empty: off.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# The Zoho API console client used by Settings → Zoho Apps → Connect.
ZOHO_CLIENT_ID = env.str("ZOHO_CLIENT_ID", default="")
ZOHO_CLIENT_SECRET = env.str("ZOHO_CLIENT_SECRET", default="")
ZOHO_ACCOUNTS_URL = env.str("ZOHO_ACCOUNTS_URL", default="https://accounts.zoho.com")
ZOHO_REDIRECT_URI = env.str("ZOHO_REDIRECT_URI", default="")
# Only what the sync uses (the README's Zoho CRM section says why each is needed).
ZOHO_SCOPES = env.str(
    "ZOHO_SCOPES",
    default="ZohoCRM.modules.accounts.ALL,ZohoCRM.modules.contacts.ALL,ZohoCRM.modules.vendors.ALL,"
            "ZohoCRM.modules.products.ALL,ZohoCRM.settings.fields.ALL,ZohoCRM.settings.custom_views.READ,"
            "ZohoCRM.org.READ,ZohoCRM.users.READ,ZohoCRM.notifications.ALL,ZohoCRM.bulk.read,"
            "ZohoSearch.securesearch.READ",
)

# Plain lines, or one JSON object per line with LOG_FORMAT=json; credentials masked (erp_crm/logging.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = erp_logging.config(log_format=LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
