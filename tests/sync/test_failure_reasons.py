"""What a run that stops on an unexpected error tells the people who read it: a short reason with a
reference on the history, run and status pages and in the admins' alert; the exception itself, with its
traceback, in the server log under the same reference. The CRM's own errors keep their words."""

from __future__ import annotations

import logging
import re

from django.core.exceptions import ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.urls import reverse

from integration.crm.errors import CrmInvalidData
from organizations.models import Notification
from sync.engine import run as engine

from .conftest import configure, sync

REASON = re.compile(r"^The run stopped on an unexpected error \(see the server log, reference ([0-9a-f]{8})\)\.$")


def database_error_in_a_phase(monkeypatch):
    """The mapping check (the run's first phase) meets a real database error."""
    def check(ctx):
        with transaction.atomic(), db_connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(engine.mapping_check, "check", check)


def test_a_run_stopped_by_a_database_error_shows_a_short_reason_and_logs_the_detail(actors, connection,
                                                                                    monkeypatch, caplog):
    config = configure(connection, "vendors")
    database_error_in_a_phase(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="sync"):
        run = sync(config)

    assert run.status == "failed"
    reference = REASON.match(run.failure_reason).group(1)
    client = actors.client_for(actors.ops)
    for page in (client.get(reverse("sync:run", args=[run.pk])), client.get(reverse("sync:history")),
                 client.get(reverse("sync:status", args=["vendors"]))):
        text = page.content.decode()
        assert reference in text and "division by zero" not in text and "DivisionByZero" not in text
    [alert] = Notification.objects.filter(user=actors.admin).values_list("message", flat=True)
    assert reference in alert and "division by zero" not in alert
    [logged] = [r for r in caplog.records if reference in r.getMessage()]
    assert logged.levelno == logging.ERROR and f"sync run {run.pk} failed" in logged.getMessage()
    assert "division by zero" in logged.getMessage() and logged.exc_info is not None
    assert "SELECT 1 / 0" in caplog.text  # the traceback, with the statement, is for ops


def test_each_unexpected_error_has_a_reference_of_its_own(connection, monkeypatch):
    config = configure(connection, "vendors")
    database_error_in_a_phase(monkeypatch)
    first, second = sync(config), sync(config)
    assert REASON.match(first.failure_reason).group(1) != REASON.match(second.failure_reason).group(1)


def test_the_crms_errors_and_the_erps_validation_messages_keep_their_words(connection, monkeypatch):
    config = configure(connection, "vendors")
    for error, reason in (
        (CrmInvalidData("INVALID_DATA: the id given seems to be invalid", status=400, code="INVALID_DATA"),
         "The CRM could not be read or written: INVALID_DATA: the id given seems to be invalid"),
        (ValidationError("A vendor needs a display name."), "The ERP refused: A vendor needs a display name."),
    ):
        def check(ctx, error=error):
            raise error

        monkeypatch.setattr(engine.mapping_check, "check", check)
        run = sync(config)
        assert (run.status, run.failure_reason) == ("failed", reason)
