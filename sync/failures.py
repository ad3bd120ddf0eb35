"""What people read when something unexpected stops a run or the database refuses a record: a short, plain
reason with a reference. The exception itself, with its traceback, goes to the server log under the same
reference: its text (SQL, the database driver's words, a Python repr) is for whoever runs the servers, not
for the history pages, alerts and emails that show a run's reason.

Errors that mean something to their readers keep their own words where they are caught: the CRM's (with
its code and message), the ERP's validation messages, the sync's own reasons.
"""

from __future__ import annotations

import logging
import secrets

log = logging.getLogger("sync")


def logged(error: BaseException, what: str, *, level: int = logging.ERROR) -> str:
    """Log `error` with its traceback as `what`, under a new reference; returns the reference."""
    reference = secrets.token_hex(4)
    log.log(level, "%s (reference %s): %s", what, reference, error,
            exc_info=(type(error), error, error.__traceback__))
    return reference


def unexpected(error: BaseException, what: str, *, stopped: str = "The run") -> str:
    """A run's (or a preview's) reason for an unexpected exception; the exception goes to the log."""
    return f"{stopped} stopped on an unexpected error (see the server log, reference {logged(error, what)})."


def database_refused(error: BaseException, what: str) -> str:
    """A record's issue when the database refuses its write; the database's own message goes to the log."""
    reference = logged(error, what, level=logging.WARNING)
    return f"The database refused the record (see the server log, reference {reference})."
