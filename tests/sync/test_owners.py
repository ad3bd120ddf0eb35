"""Record owners: the CRM record's Owner and the ERP record's owner are the same person, matched by email
through the CRM users read when the CRM was connected."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from crm_sandbox.schema import USERS
from customers.models import Customer
from integration import services
from tests.factories import CustomerFactory, MembershipFactory
from tests.integration.conftest import sandbox_client

from .checks import links_of
from .conftest import configure, sync

ANA, BEN, CHEN = (user["id"] for user in USERS)  # Ana is the API user: records we create are hers


@pytest.fixture
def people(actors):
    """Ben has an ERP account with his CRM email; Chen has none."""
    return {"ben": MembershipFactory(organization=actors.organization, role="finance",
                                     user__email="Ben.Okafor@zylker.test").user}


@pytest.fixture
def connection(sandbox, actors, people):
    crm = sandbox_client(sandbox)
    return services.connection_create(
        organization=actors.organization, user=actors.admin, crm_org=crm.org(), api_domain=sandbox.base_url,
        accounts_url=sandbox.base_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret,
        refresh_token=sandbox.refresh_token, crm_users=crm.users(),
    )


def customer_of(connection, crm_id: str) -> Customer:
    return Customer.objects.get(pk=links_of(connection, "Accounts")[crm_id].erp_id)


def test_fetched_records_are_owned_by_the_erp_user_with_the_crm_owners_email(connection, sandbox, people):
    bens = sandbox.create_record("Accounts", {"Account_Name": "Owned by Ben", "Owner": BEN})["id"]
    chens = sandbox.create_record("Accounts", {"Account_Name": "Owned by Chen", "Owner": CHEN})["id"]
    config = configure(connection, "customers")

    assert sync(config).status == "succeeded"

    assert customer_of(connection, bens).owner == people["ben"]
    assert customer_of(connection, chens).owner is None  # Chen has no ERP account


def test_an_owner_changed_in_the_crm_changes_here(connection, sandbox, people):
    record = sandbox.create_record("Accounts", {"Account_Name": "Changing hands", "Owner": CHEN})["id"]
    config = configure(connection, "customers")
    sync(config)
    assert customer_of(connection, record).owner is None

    sandbox.edit_record("Accounts", record, {"Owner": BEN})
    run = sync(config)

    assert (run.status, run.updated) == ("succeeded", 1)
    assert customer_of(connection, record).owner == people["ben"]


def test_an_owner_changed_here_goes_to_the_crm_once(connection, sandbox, people):
    record = sandbox.create_record("Accounts", {"Account_Name": "Handed over", "Owner": CHEN})["id"]
    config = configure(connection, "customers", direction="both")
    sync(config)
    customer = customer_of(connection, record)
    customer.owner = people["ben"]
    customer.save()

    run = sync(config)

    assert (run.status, run.pushed) == ("succeeded", 1)
    assert sandbox.get_record("Accounts", record)["Owner"]["id"] == BEN
    again = sync(config)  # our own write coming back is no change
    assert (again.updated, again.pushed) == (0, 0)
    assert customer_of(connection, record).owner == people["ben"]


def test_a_new_erp_customer_reaches_the_crm_with_its_owner(connection, sandbox, people, actors):
    mine = CustomerFactory(organization=actors.organization, display_name="Ben's new customer", owner=people["ben"])
    nobodys = CustomerFactory(organization=actors.organization, display_name="Nobody's customer",
                              owner=actors.ops)  # ops has no CRM account: the CRM's default owner applies
    config = configure(connection, "customers", direction="both")

    run = sync(config)

    assert (run.status, run.pushed) == ("succeeded", 2)
    links = {link.erp_id: link.crm_id for link in links_of(connection, "Accounts").values()}
    assert sandbox.get_record("Accounts", links[mine.pk])["Owner"]["id"] == BEN
    assert sandbox.get_record("Accounts", links[nobodys.pk])["Owner"]["id"] == ANA
    again = sync(config)
    assert (again.updated, again.pushed) == (0, 0)
    nobodys.refresh_from_db()
    assert nobodys.owner == actors.ops  # not taken over by the CRM's default owner


def test_a_person_who_joined_after_connecting_owns_their_records_after_the_daily_users_read(sandbox, actors):
    crm = sandbox_client(sandbox)
    connection = services.connection_create(
        organization=actors.organization, user=actors.admin, crm_org=crm.org(), api_domain=sandbox.base_url,
        accounts_url=sandbox.base_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret,
        refresh_token=sandbox.refresh_token, crm_users=crm.users())
    chens = sandbox.create_record("Accounts", {"Account_Name": "Chen's account", "Owner": CHEN})["id"]
    config = configure(connection, "customers")
    sync(config)
    assert customer_of(connection, chens).owner is None
    chen = MembershipFactory(organization=actors.organization, user__email="chen.li@zylker.test").user

    sandbox.reset_calls()
    sync(config)  # the users were read less than a day ago: not again
    assert "GET /crm/v8/users" not in sandbox.calls()["calls"]
    assert customer_of(connection, chens).owner is None
    type(connection).objects.filter(pk=connection.pk).update(
        users_read_at=timezone.now() - datetime.timedelta(days=1, minutes=1))
    before = customer_of(connection, chens).updated_at
    run = sync(config)

    assert sandbox.calls()["calls"]["GET /crm/v8/users"] == 1
    assert (run.status, run.pushed) == ("succeeded", 0)
    assert customer_of(connection, chens).owner == chen  # unchanged in the CRM, matched here at last
    assert customer_of(connection, chens).updated_at == before  # not an edit: nothing to push
