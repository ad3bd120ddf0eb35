"""A record's Sync tab: nothing for a first load, then each change the sync made to the record or sent
from it, conflicts with both values, open issues; pruned after CRM_TIMELINE_DAYS."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from sync import services
from sync.models import TimelineEntry
from tests.factories import CustomerFactory

from .checks import links_of
from .conftest import configure, sync


def test_the_timeline_after_a_first_load_a_fetch_a_push_and_a_conflict(connection, sandbox, actors):
    config = configure(connection, "customers", direction="both")
    sync(config)
    assert not TimelineEntry.objects.exists()  # a first load writes none: the link says when
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    customer = Customer.objects.get(pk=link.erp_id)
    old_phone = customer.phone

    sandbox.edit_record("Accounts", crm_id, {"Phone": "+1 555 0101"})
    fetch_run = sync(config)
    Customer.objects.filter(pk=customer.pk).update(website="erp.example.test", updated_at=timezone.now())
    push_run = sync(config)
    sandbox.edit_record("Accounts", crm_id, {"Billing_City": "Crm City"})
    Customer.objects.filter(pk=customer.pk).update(billing_city="Erp City", updated_at=timezone.now())
    conflict_run = sync(config)

    entries = {e.kind: e for e in TimelineEntry.objects.filter(erp_model="customer", erp_id=customer.pk)}
    assert entries["fetched"].run_id == fetch_run.pk
    assert {"field": "Phone", "old": old_phone, "new": "+1 555 0101"} in entries["fetched"].changes
    assert entries["pushed"].run_id == push_run.pk
    assert [c for c in entries["pushed"].changes if c["new"] == "erp.example.test"]
    assert entries["conflict"].run_id == conflict_run.pk
    [conflict] = entries["conflict"].changes
    assert (conflict["crm"], conflict["erp"]) == ("Crm City", "Erp City")
    page = actors.client_for(actors.finance).get(reverse("customers:detail", args=[customer.pk]))
    assert page.status_code == 200 and 'data-testid="sync-tab"' in page.text
    assert "+1 555 0101" in page.text and "Crm City" in page.text and "Sent to Zoho CRM" in page.text


def test_linking_an_existing_record_is_one_entry_and_old_entries_are_pruned(connection, sandbox, actors, settings):
    from tests.sandbox import crm_records, sandbox_client

    account = next(crm_records(sandbox_client(sandbox), "Accounts", fields=["Account_Name"]))
    twin = CustomerFactory(organization=actors.organization, display_name=account["Account_Name"], phone="0")
    sync(configure(connection, "customers", duplicate_action="overwrite"))
    [entry] = TimelineEntry.objects.filter(erp_model="customer", erp_id=twin.pk)
    assert entry.kind == "linked"
    assert TimelineEntry.objects.count() == 1  # the other records were made by the sync: nothing written

    settings.CRM_TIMELINE_DAYS = 180
    TimelineEntry.objects.update(at=timezone.now() - datetime.timedelta(days=181))
    assert services.timeline_prune() == 1 and not TimelineEntry.objects.exists()
