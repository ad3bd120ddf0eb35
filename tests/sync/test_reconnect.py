"""Reconnecting never duplicates: the first sync of a new connection links every CRM record that carries
an ERP id of this organization to that record first, whatever the names and the duplicate action."""

from __future__ import annotations

import pytest

from customers.models import Customer
from integration import services as integration_services
from sync.models import RecordLink
from sync.services import integration_delete
from tests.factories import CustomerFactory
from tests.sandbox import sandbox_client

from .checks import links_of
from .conftest import configure, sync


def reconnect(sandbox, actors):
    crm = sandbox_client(sandbox)
    return integration_services.connection_create(
        organization=actors.organization, user=actors.admin, crm_org=crm.org(), api_domain=sandbox.base_url,
        accounts_url=sandbox.base_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret,
        refresh_token=sandbox.refresh_token, crm_users=crm.users())


@pytest.mark.parametrize("action", ["overwrite", "skip", "clone"])
def test_records_pushed_before_are_linked_by_their_erp_id_after_a_reconnect(connection, sandbox, actors, action):
    first = CustomerFactory(organization=actors.organization, display_name="Northwind Original")
    second = CustomerFactory(organization=actors.organization, display_name="Southwind Original")
    config = configure(connection, "customers", direction="both", duplicate_action=action)
    sync(config)
    pushed = {link.erp_id: link.crm_id for link in links_of(connection, "Accounts").values()
              if link.erp_id in (first.pk, second.pk)}
    assert set(pushed) == {first.pk, second.pk}
    # Both sides renamed while the integration is gone, so no name matches any more.
    sandbox.edit_record("Accounts", pushed[first.pk], {"Account_Name": "Northwind Renamed In CRM"})
    Customer.objects.filter(pk=second.pk).update(display_name="Southwind Renamed Here")
    integration_delete(connection=connection, mode="all")
    customers_before = Customer.objects.filter(organization=actors.organization).count()
    accounts_before = len(list(sandbox_client(sandbox).iter_pages("Accounts", fields=["id"])))

    again = reconnect(sandbox, actors)
    run = sync(configure(again, "customers", direction="both", duplicate_action=action))

    assert run.status == "succeeded"
    links = links_of(again, "Accounts")
    assert links[pushed[first.pk]].erp_id == first.pk and links[pushed[second.pk]].erp_id == second.pk
    mine = Customer.objects.filter(organization=actors.organization)
    assert mine.filter(display_name__in=["Northwind Renamed In CRM", "Southwind Original"]).count() == 2
    if action != "clone":  # (Clone makes the fetched accounts anew, as it says; never the pushed ones)
        assert mine.count() == customers_before  # no duplicate here
    assert len(list(sandbox_client(sandbox).iter_pages("Accounts", fields=["id"]))) == accounts_before  # nor there
    # Customers: the CRM goes first, for the names changed on either side.
    assert Customer.objects.get(pk=first.pk).display_name == "Northwind Renamed In CRM"
    assert Customer.objects.get(pk=second.pk).display_name == "Southwind Original"
    assert RecordLink.objects.filter(connection=again, erp_id__in=[first.pk, second.pk]).count() == 2


def test_an_erp_id_of_another_organization_or_of_a_record_gone_here_counts_as_none(connection, sandbox, actors):
    gone = CustomerFactory(organization=actors.organization, display_name="Gone Later")
    config = configure(connection, "customers", direction="both")
    sync(config)
    crm_id = links_of(connection, "Accounts")[next(c for c, link in links_of(connection, "Accounts").items()
                                                   if link.erp_id == gone.pk)].crm_id
    stranger = sandbox.create_record("Accounts", {"Account_Name": "Other Org Pushed", "ERP_Id": f"{actors.other_organization.pk}-customer-{gone.pk}"})
    integration_delete(connection=connection, mode="all")
    Customer.objects.filter(pk=gone.pk).delete()

    again = reconnect(sandbox, actors)
    run = sync(configure(again, "customers", duplicate_action="skip"))

    assert run.status == "succeeded"
    links = links_of(again, "Accounts")
    assert Customer.objects.get(pk=links[crm_id].erp_id).display_name == "Gone Later"  # made anew
    assert Customer.objects.get(pk=links[stranger["id"]].erp_id).display_name == "Other Org Pushed"
