"""The "CRM Customers" and "CRM Vendors" views: only linked records, with a badge, kept by syncs and deletions."""

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from sync.flags import refresh_crm_flags
from sync.models import RecordLink
from sync.services import integration_delete
from tests.factories import CrmConnectionFactory, CustomerFactory, VendorFactory

from .conftest import configure, sync


@pytest.fixture
def local_connection(actors):
    """A connection made directly, for the views that never call the CRM."""
    return CrmConnectionFactory(organization=actors.organization)


def test_crm_customers_view_lists_only_linked_customers_with_a_badge(actors, local_connection):
    linked = CustomerFactory(organization=actors.organization, display_name="Linked Ltd")
    CustomerFactory(organization=actors.organization, display_name="Local Ltd")
    RecordLink.objects.create(connection=local_connection, crm_module="Accounts", crm_id="1", erp_model="customer",
                              erp_id=linked.pk, origin="crm")
    refresh_crm_flags(organization_id=actors.organization.pk)  # a link made by hand: the sync writes the flag itself
    client = actors.client_for(actors.finance)
    page = client.get(reverse("customers:list"), {"view": "crm"})
    assert [c.display_name for c in page.context["state"].page] == ["Linked Ltd"]
    assert "CRM Customers" in page.content.decode()
    everything = client.get(reverse("customers:list")).content.decode()
    assert everything.count('class="pill crm"') == 1
    searched = client.get(reverse("customers:list"), {"view": "crm", "q": "local"})
    assert list(searched.context["state"].page) == []


def test_the_crm_badge_comes_with_the_rows_without_a_query_per_row(actors, local_connection):
    client = actors.client_for(actors.finance)
    customers = [CustomerFactory(organization=actors.organization, display_name="Badge 0")]
    client.get(reverse("customers:list"))  # the first request of a session does its own one-off queries

    def listed() -> tuple[int, str]:
        with CaptureQueriesContext(db_connection) as queries:
            page = client.get(reverse("customers:list")).content.decode()
        return len(queries), page

    before, _ = listed()
    customers += [CustomerFactory(organization=actors.organization, display_name=f"Badge {n}") for n in range(1, 4)]
    for n, customer in enumerate(customers[:3]):
        RecordLink.objects.create(connection=local_connection, crm_module="Accounts", crm_id=str(n + 1),
                                  erp_model="customer", erp_id=customer.pk, origin="crm")
    refresh_crm_flags(organization_id=actors.organization.pk)
    after, page = listed()

    assert page.count('class="pill crm"') == 3
    assert after == before


def test_crm_vendors_view(actors, local_connection):
    linked = VendorFactory(organization=actors.organization, display_name="CRM Supplies")
    VendorFactory(organization=actors.organization, display_name="Local Supplies")
    RecordLink.objects.create(connection=local_connection, crm_module="Vendors", crm_id="9", erp_model="vendor",
                              erp_id=linked.pk, origin="crm")
    refresh_crm_flags(organization_id=actors.organization.pk)
    page = actors.client_for(actors.ops).get(reverse("vendors:list"), {"view": "crm"})
    assert [v.display_name for v in page.context["state"].page] == ["CRM Supplies"]


def test_the_crm_view_follows_syncs_and_deletions(actors, sandbox, connection):
    config = configure(connection, "customers", crm_source="accounts")
    sync(config)
    client = actors.client_for(actors.finance)
    listed = client.get(reverse("customers:list"), {"view": "crm"}).context["state"].page.paginator.count
    assert listed == Customer.objects.filter(organization=actors.organization).count() > 0
    integration_delete(connection=connection, mode="all")
    assert not Customer.objects.filter(crm_linked=True).exists()
    # With no CRM connected, the view is not offered at all.
    after = client.get(reverse("customers:list"), {"view": "crm"})
    assert after.context["state"].view == "all" and "CRM Customers" not in after.content.decode()


def test_the_crm_views_are_offered_only_when_a_crm_is_connected(actors):
    client = actors.client_for(actors.finance)
    assert "CRM Customers" not in client.get(reverse("customers:list")).content.decode()
    assert "CRM Vendors" not in client.get(reverse("vendors:list")).content.decode()
    assert client.get(reverse("customers:list"), {"view": "crm"}).context["state"].view == "all"
    CrmConnectionFactory(organization=actors.organization)
    assert "CRM Customers" in client.get(reverse("customers:list")).content.decode()
    assert "CRM Vendors" in client.get(reverse("vendors:list")).content.decode()
