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
from integration.crm.client import CrmClient
from integration.models import CrmConnection

from .mapping import ensure_crm_field
from .models import RecordLink

# CRM field (label → API name) per metric; created through the fields API when missing.
METRIC_FIELDS = [
    ("ERP Total Sales", "ERP_Total_Sales", "currency"),
    ("ERP Outstanding Receivables", "ERP_Outstanding_Receivables", "currency"),
    ("ERP Last Invoice Date", "ERP_Last_Invoice_Date", "date"),
]
CUSTOMER_MODULES = ("Accounts", "Contacts")


def ensure_metric_fields(*, client: CrmClient, module: str) -> None:
    fields = client.fields(module)
    for label, api_name, data_type in METRIC_FIELDS:
        ensure_crm_field(client, module, api_name, {"field_label": label, "data_type": data_type}, fields=fields)


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
            "ERP_Total_Sales": float(row["sales"] or Decimal("0")),
            "ERP_Outstanding_Receivables": float(row["outstanding"] or Decimal("0")),
            "ERP_Last_Invoice_Date": row["last_invoice"].isoformat() if row["last_invoice"] else None,
        }
        for row in rows
    }


def push_metrics(*, connection: CrmConnection, client: CrmClient, since: datetime.datetime | None = None) -> dict:
    """Push the metrics of linked customers (those with invoice changes since `since`, or all).

    Returns counts: pushed, failed, and per-record failures as (crm_module, crm_id, message).
    """
    links = RecordLink.objects.filter(connection=connection, erp_model="customer", crm_module__in=CUSTOMER_MODULES)
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
        ensure_metric_fields(client=client, module=module)
        for record, outcome in zip(records, client.update(module, records), strict=True):
            if outcome.ok:
                result["pushed"] += 1
            else:
                result["failed"] += 1
                result["failures"].append((module, record["id"], f"{outcome.code}: {outcome.message}"))
    return result


def metrics_due(*, connection_id: int) -> bool:
    """Mark the connection due a metrics push shortly. True when this call opened the window."""
    debounce = datetime.timedelta(seconds=settings.CRM_METRICS_DEBOUNCE_SECONDS)
    with transaction.atomic():
        opened = CrmConnection.objects.filter(pk=connection_id, metrics_due_at__isnull=True).update(
            metrics_due_at=timezone.now() + debounce
        )
    return bool(opened)
