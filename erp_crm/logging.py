"""Log output: plain lines by default, one JSON object per line with LOG_FORMAT=json (python-json-logger),
and a last guard that masks anything shaped like a credential before a line leaves the process."""

from __future__ import annotations

import logging
import re

from pythonjsonlogger.json import JsonFormatter

# Zoho's OAuth tokens (1000.<hex>.<hex>), bearer headers, and credential parameters in URLs or bodies.
_SECRETS = [
    (re.compile(r"\b1000\.[0-9a-fA-F]{8,}\.[0-9a-fA-F]{8,}\b"), "1000.***"),
    (re.compile(r"(Zoho-oauthtoken|Bearer)\s+[^\s,;\"']+", re.IGNORECASE), r"\1 ***"),
    (re.compile(r"\b(token|refresh_token|access_token|client_secret|code|password)=[^&\s\"']+", re.IGNORECASE),
     r"\1=***"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Masks credentials in a record's message (the formatted one, arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class Json(JsonFormatter):
    """One JSON object per line: time, level, logger, message, and the record's extra fields."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", *args, **kwargs)


def config(*, log_format: str, level: str) -> dict:
    """The LOGGING setting."""
    formatter = {"()": Json} if log_format == "json" else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactSecrets}},
        "formatters": {"main": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["redact"]}},
        "root": {"handlers": ["console"], "level": level},
        # urllib3 writes whole request lines (query strings too) at DEBUG: never below INFO.
        "loggers": {"django.db.backends": {"level": "WARNING"}, "urllib3": {"level": "INFO"}},
    }
