"""Accounting metrics in the CRM: total sales, outstanding receivables and last invoice date of every
customer linked to a CRM Account or Contact, pushed into CRM fields of their own.

Invoice changes are debounced: the first change marks the connection as due a minute later and queues
one push; further changes in that minute ride along.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from customers.models import Customer, InvoiceStatus, receivable_sums
from integration.catalogue import METRIC_FIELDS as METRIC_FIELD_NAMES
from integration.crm.client import CrmClient
from integration.crm.errors import CrmError
from integration.models import ConnectionStatus, CrmConnection, ErpModel, ModuleConfig, SyncModule
from integration.services import client_for

from . import failures
from .models import IssueKind, RecordLink, RunStatus, SyncIssue, SyncRun, Trigger

# The CRM fields of the metrics (catalogue.METRIC_FIELDS), created through the fields API when missing.
SALES, OUTSTANDING, LAST_INVOICE = METRIC_FIELD_NAMES
METRIC_FIELDS = [
    {"api_name": SALES, "field_label": "ERP Total Sales", "data_type": "currency"},
    {"api_name": OUTSTANDING, "field_label": "ERP Outstanding Receivables", "data_type": "currency"},
    {"api_name": LAST_INVOICE, "field_label": "ERP Last Invoice Date", "data_type": "date"},
]
CUSTOMER_MODULES = ("Accounts", "Contacts")


def ensure_metric_fields(*, client: CrmClient, connection: CrmConnection, module: str) -> None:
    """The metrics' fields in one CRM module, read and created once per connection (then remembered)."""
    if module in (connection.metrics_fields or []):
        return
    fields = client.fields(module)
    for definition in METRIC_FIELDS:
        client.ensure_field(module, definition, fields=fields)
    connection.metrics_fields = sorted({*(connection.metrics_fields or []), module})
    CrmConnection.objects.filter(pk=connection.pk).update(metrics_fields=connection.metrics_fields)


def customer_metrics(customer_ids) -> dict[int, dict]:
    """Total sales, outstanding receivables and last invoice date per customer, in one query."""
    rows = (
        Customer.objects.filter(pk__in=customer_ids)
        .annotate(
            **receivable_sums("invoices__"),
            last_invoice=Max("invoices__date", filter=~Q(invoices__status=InvoiceStatus.VOID)),
        )
        .values("pk", "sales", "outstanding", "last_invoice")
    )
    return {
        row["pk"]: {
            SALES: float(row["sales"] or Decimal("0")),
            OUTSTANDING: float(row["outstanding"] or Decimal("0")),
            LAST_INVOICE: row["last_invoice"].isoformat() if row["last_invoice"] else None,
        }
        for row in rows
    }


def push_metrics(*, connection: CrmConnection, client: CrmClient, since: datetime.datetime | None = None) -> dict:
    """Push the metrics of linked customers (those with invoice changes since `since`, or all).

    Returns counts: pushed, failed, and per-record failures as (crm_module, crm_id, message).
    """
    links = RecordLink.objects.filter(connection=connection, erp_model=ErpModel.CUSTOMER,
                                      crm_module__in=CUSTOMER_MODULES)
    if since is not None:
        links = links.filter(
            erp_id__in=Customer.objects.filter(invoices__updated_at__gte=since).values("pk")
        )
    links = list(links.values_list("crm_module", "crm_id", "erp_id"))
    result = {"pushed": 0, "failed": 0, "failures": []}
    if not links:
        return result
    metrics = customer_metrics([erp_id for _, _, erp_id in links])
    for module in CUSTOMER_MODULES:
        records = [{"id": crm_id, **metrics[erp_id]} for m, crm_id, erp_id in links if m == module and erp_id in metrics]
        if not records:
            continue
        ensure_metric_fields(client=client, connection=connection, module=module)
        for record, outcome in zip(records, client.update(module, records), strict=True):
            if outcome.ok:
                result["pushed"] += 1
            else:
                result["failed"] += 1
                result["failures"].append((module, record["id"], f"{outcome.code}: {outcome.message}"))
    return result


def metrics_due(*, connection_id: int) -> bool:
    """Mark the connection due a metrics push shortly. True when this call opened the window. A connection
    that may only fetch (another ERP organization syncs both ways with the CRM organization) is never due:
    the metrics are a write to the CRM."""
    debounce = datetime.timedelta(seconds=settings.CRM_METRICS_DEBOUNCE_SECONDS)
    with transaction.atomic():
        opened = CrmConnection.objects.filter(pk=connection_id, metrics_due_at__isnull=True,
                                              two_way_allowed=True).update(
            metrics_due_at=timezone.now() + debounce
        )
    return bool(opened)


def push_due(*, connection_id: int) -> str:
    """The push a connection is due, recorded as a run (trigger "metrics") of its customers module.
    Returns the run's status, or why there was none."""
    with transaction.atomic():
        connection = CrmConnection.objects.select_for_update().filter(pk=connection_id).first()
        if connection is None or connection.metrics_due_at is None:
            return "not due"
        config = ModuleConfig.objects.filter(connection=connection, module=SyncModule.CUSTOMERS).first()
        if config is not None and config.paused and connection.two_way_allowed:
            return "paused"  # still due: the push follows when the module is resumed
        since = connection.metrics_pushed_at
        CrmConnection.objects.filter(pk=connection_id).update(metrics_due_at=None)
    if not connection.two_way_allowed:
        return "one-way"  # a connection that may only fetch writes nothing to the CRM, metrics included
    if config is None or connection.status != ConnectionStatus.ACTIVE:
        return "not configured"
    started = timezone.now()
    # Not "running": a metrics push must not take (or wait for) the module's sync slot.
    run = SyncRun.objects.create(module_config=config, trigger=Trigger.METRICS, status=RunStatus.QUEUED,
                                 started_at=started, heartbeat_at=started)
    client = client_for(connection)
    try:
        result = push_metrics(connection=connection, client=client, since=since)
    except Exception as error:
        # The run is recorded as failed whatever stopped it: left "queued", nothing would ever end it. The
        # CRM's errors say what went wrong in its words; anything else is told in the log only.
        reason = str(error) if isinstance(error, CrmError) else failures.unexpected(
            error, f"metrics push of connection {connection_id} failed", stopped="The metrics push")
        SyncRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, failure_reason=reason[:5000],
                                                 finished_at=timezone.now(), api_calls=client.calls,
                                                 credits=client.credits)
        if isinstance(error, CrmError):
            return RunStatus.FAILED
        # Not the CRM's doing (the database, say): the push is due again, for the next tick or retry.
        CrmConnection.objects.filter(pk=connection_id).update(metrics_due_at=timezone.now())
        raise
    SyncIssue.objects.bulk_create(
        SyncIssue(run=run, kind=IssueKind.ERROR, crm_module=module, crm_id=crm_id, message=message)
        for module, crm_id, message in result["failures"]
    )
    CrmConnection.objects.filter(pk=connection_id).update(metrics_pushed_at=started)
    status = RunStatus.PARTIAL if result["failed"] else RunStatus.SUCCEEDED
    SyncRun.objects.filter(pk=run.pk).update(
        status=status, pushed=result["pushed"], failed=result["failed"], finished_at=timezone.now(),
        api_calls=client.calls, retries=client.retries, credits=client.credits,
        progress_done=result["pushed"] + result["failed"])
    return status
