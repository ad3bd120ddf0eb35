"""Accounting metrics in the CRM: exact amounts, fields made once, failures recorded, edits debounced."""

import logging
import time
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.utils import timezone

from integration.models import ModuleConfig
from sync import importing, metrics, tasks
from sync.models import SyncRun
from tests.factories import InvoiceFactory
from tests.sandbox import sandbox_client

from .checks import account_with_contacts


def linked_customer(sandbox, connection, actors):
    account, _ = account_with_contacts(sandbox)
    customer, _ = importing.import_record(connection=connection, crm_module="Accounts", crm_id=account["id"])
    configure_customers = ModuleConfig.objects.get(connection=connection, module="customers")
    configure_customers.configured = True
    configure_customers.crm_source = "accounts"
    configure_customers.save()
    return customer, account["id"]


def test_metrics_hold_the_exact_amounts_in_the_crm(actors, sandbox, connection):
    customer, account_id = linked_customer(sandbox, connection, actors)
    InvoiceFactory(customer=customer, total=Decimal("1200.50"), balance=Decimal("1200.50"), number="M-1",
                   date="2026-10-01", due_date="2026-10-31")
    InvoiceFactory(customer=customer, total=Decimal("300.25"), balance=Decimal("0"), status="paid", number="M-2",
                   date="2026-11-05", due_date="2026-12-05")
    InvoiceFactory(customer=customer, total=Decimal("99.00"), balance=Decimal("99.00"), status="void", number="M-3",
                   date="2026-11-20", due_date="2026-12-20")
    result = metrics.push_metrics(connection=connection, client=sandbox_client(sandbox))
    assert result["pushed"] == 1 and result["failed"] == 0
    record = sandbox.get_record("Accounts", account_id)
    assert Decimal(str(record["ERP_Total_Sales"])) == Decimal("1500.75")
    assert Decimal(str(record["ERP_Outstanding_Receivables"])) == Decimal("1200.50")
    assert record["ERP_Last_Invoice_Date"] == "2026-11-05"


def test_metrics_fields_are_created_once(actors, sandbox, connection):
    customer, _ = linked_customer(sandbox, connection, actors)
    InvoiceFactory(customer=customer)
    client = sandbox_client(sandbox)
    metrics.push_metrics(connection=connection, client=client)
    metrics.push_metrics(connection=connection, client=client)
    names = [f["api_name"] for f in client.fields("Accounts")]
    assert names.count("ERP_Total_Sales") == 1 and "ERP_Last_Invoice_Date" in names


def test_a_metrics_push_stopped_by_the_database_is_recorded_failed_and_due_again(actors, sandbox, connection,
                                                                                 monkeypatch, caplog):
    customer, _ = linked_customer(sandbox, connection, actors)
    InvoiceFactory(customer=customer)
    ConnectionModel = type(connection)
    ConnectionModel.objects.filter(pk=connection.pk).update(metrics_due_at=timezone.now())

    def lost_database(customer_ids):  # a failure of the database server cannot be caused on purpose here
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(metrics, "customer_metrics", lost_database)
    with pytest.raises(OperationalError):
        tasks.push_customer_metrics(connection.pk)

    run = SyncRun.objects.get(trigger="metrics")
    # Its reason says where to look, with a reference; the database's words are in the log under it.
    assert run.status == "failed" and "server closed the connection" not in run.failure_reason
    reference = run.failure_reason.rsplit("reference ", 1)[1].rstrip(").")
    assert run.failure_reason.startswith("The metrics push stopped on an unexpected error")
    assert any(reference in r.getMessage() and "server closed the connection" in r.getMessage()
               for r in caplog.records if r.levelno == logging.ERROR)
    assert ConnectionModel.objects.get(pk=connection.pk).metrics_due_at is not None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ten_invoice_edits_in_the_debounce_window_make_one_push(actors, sandbox, connection, settings,
                                                                 celery_worker):
    settings.CRM_METRICS_DEBOUNCE_SECONDS = 2
    customer, account_id = linked_customer(sandbox, connection, actors)
    invoice = InvoiceFactory(customer=customer, total=Decimal("100.00"), balance=Decimal("100.00"))
    for amount in range(11, 20):
        invoice.balance = Decimal(amount)
        invoice.save()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not SyncRun.objects.filter(trigger="metrics", finished_at__isnull=False):
        time.sleep(0.2)
    time.sleep(settings.CRM_METRICS_DEBOUNCE_SECONDS + 1)  # room for a second push, which must not come
    runs = SyncRun.objects.filter(trigger="metrics")
    assert runs.count() == 1 and runs.get().status == "succeeded"
    assert sandbox.calls()["calls"].get("PUT /crm/v8/Accounts") == 1
    record = sandbox.get_record("Accounts", account_id)
    assert Decimal(str(record["ERP_Outstanding_Receivables"])) == Decimal("19")
