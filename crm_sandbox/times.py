"""Zoho's date-time format: `yyyy-MM-ddTHH:mm:ss±HH:MM`, whole seconds, in the CRM org's UTC offset.

The sandbox stores instants as integer epoch seconds (Zoho's resolution) and formats them on the way out.
"""

import re
from datetime import datetime, timedelta, timezone

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def parse_offset(text: str) -> int:
    """'+05:30' -> 330 minutes. Raises ValueError on anything else."""
    match = _OFFSET.match(text or "")
    if not match or int(match.group(3)) >= 60 or int(match.group(2)) > 14:
        raise ValueError(f"not a UTC offset: {text!r}")
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return -minutes if match.group(1) == "-" else minutes


def format_time(epoch: int, offset_minutes: int) -> str:
    zone = timezone(timedelta(minutes=offset_minutes))
    return datetime.fromtimestamp(int(epoch), zone).isoformat()


def parse_time(text: str) -> int:
    """ISO 8601 with an explicit offset (or Z) -> epoch seconds. Raises ValueError when the offset is missing."""
    text = text.strip()
    if "T" in text:
        # An unencoded '+' in a query string arrives as a space.
        text = re.sub(r" (\d{2}:\d{2})$", r"+\1", text)
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"date-time without offset: {text!r}")
    return int(value.timestamp())
