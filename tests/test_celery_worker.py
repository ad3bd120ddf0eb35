"""One round trip through the real broker (Redis in CI) with a real Celery worker."""

import datetime
import time
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Invoice
from organizations.models import Notification
from tests.factories import InvoiceFactory


@pytest.mark.worker
def test_a_task_enqueued_by_a_view_runs_on_the_worker(actors, celery_worker):
    past = datetime.date.today() - datetime.timedelta(days=60)
    invoice = InvoiceFactory(
        customer__organization=actors.organization, date=past, due_date=past + datetime.timedelta(days=10),
        total=Decimal("90"), balance=Decimal("90"), status="open",
    )
    response = actors.client_for(actors.finance).post(reverse("customers:invoice_refresh"))
    assert response.status_code == 302
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if Notification.objects.filter(user=actors.finance).exists():
            break
        time.sleep(0.2)
    notification = Notification.objects.get(user=actors.finance, organization=actors.organization)
    assert "1 invoice is now overdue" in notification.message
    assert Invoice.objects.get(pk=invoice.pk).status == "overdue"
