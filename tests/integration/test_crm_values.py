"""What the CRM says about its organization and users goes into bounded columns: a value too long is
refused with a message that says which and how long, never cut and never a database error."""

import pytest
from django.urls import reverse

from integration import services
from integration.models import ConnectionStatus, CrmConnection, CrmUser
from sync.engine.owners import Owners
from tests.factories import CrmConnectionFactory
from tests.http_stub import StubServer
from tests.sandbox import sandbox_client

from .test_connect import connect


def connect_with(actors, sandbox, crm_org: dict, crm_users=()):
    return services.connection_create(
        organization=actors.organization, user=None, crm_org=crm_org, api_domain=sandbox.base_url,
        accounts_url=sandbox.base_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret,
        refresh_token=sandbox.issue_refresh_token(), crm_users=list(crm_users))


def test_an_over_long_organization_name_from_the_sandbox_refuses_connect_with_the_reason(actors, sandbox):
    sandbox.set_org(company_name="Z" * 300)
    response, _ = connect(actors.client_for(actors.admin))
    assert response.status_code == 200
    assert ("Zoho CRM returned an organization name of 300 characters; at most 255 are allowed."
            in response.content.decode())
    assert not CrmConnection.objects.exists()


@pytest.mark.parametrize(
    "change,message",
    [
        ({"id": "5" * 300}, "an organization id of 300 characters; at most 40 are allowed"),
        ({"time_zone": "Z" * 61}, "a time zone of 61 characters; at most 60 are allowed"),
        ({"iso_code": "USDX"}, "a currency code of 4 characters; at most 3 are allowed"),
    ],
)
def test_over_long_organization_values_are_refused_and_nothing_is_saved(actors, sandbox, change, message):
    crm_org = {**sandbox_client(sandbox).org(), **change}
    with pytest.raises(services.ConnectionRefused, match=f"Zoho CRM returned {message}."):
        connect_with(actors, sandbox, crm_org)
    assert not CrmConnection.objects.exists()
    actors.organization.refresh_from_db()
    assert not actors.organization.crm_connected


def test_values_that_just_fit_are_kept_whole(actors, sandbox):
    crm_org = {**sandbox_client(sandbox).org(), "id": "7" * 40, "company_name": "N" * 255}
    user = {"id": "8" * 40, "email": "a" * 64 + "@" + "b" * 184 + ".test", "full_name": "F" * 255}
    connection = connect_with(actors, sandbox, crm_org, [user])
    assert (connection.crm_org_id, connection.crm_org_name) == ("7" * 40, "N" * 255)
    kept = connection.crm_users.get()
    assert (kept.crm_user_id, kept.email, kept.full_name) == (user["id"], user["email"], user["full_name"])


@pytest.mark.parametrize(
    "change,message",
    [
        ({"id": "9" * 41}, "a user id of 41 characters; at most 40 are allowed"),
        ({"email": "x" * 250 + "@crm.test"}, "a user email of 259 characters; at most 254 are allowed"),
        ({"full_name": "F" * 256}, "a user name of 256 characters; at most 255 are allowed"),
    ],
)
def test_an_over_long_user_value_refuses_the_users_and_writes_none_of_them(actors, sandbox, connection, change,
                                                                         message):
    users = sandbox_client(sandbox).users()
    before = list(connection.crm_users.order_by("crm_user_id").values_list("crm_user_id", "email", "full_name"))
    joined = {"id": "5843104000999999001", "email": "joined@crm.example", "full_name": "Joined Later"}
    with pytest.raises(services.CrmValueTooLong, match=f"Zoho CRM returned {message}."):
        services.crm_users_map(connection=connection, crm_users=[joined, *users[1:], {**users[0], **change}])
    after = list(connection.crm_users.order_by("crm_user_id").values_list("crm_user_id", "email", "full_name"))
    assert after == before


def test_an_over_long_user_refuses_connecting(actors, sandbox):
    crm = sandbox_client(sandbox)
    with pytest.raises(services.ConnectionRefused, match="a user email of 300 characters"):
        connect_with(actors, sandbox, crm.org(), [*crm.users(), {"id": "1", "email": "e" * 291 + "@crm.test",
                                                                 "full_name": "Long"}])
    assert not CrmConnection.objects.exists() and not CrmUser.objects.exists()


class UsersFrom:
    """A CRM client whose users are these."""

    def __init__(self, users):
        self._users = users

    def users(self, kind: str = "ActiveUsers"):
        return self._users


def test_the_daily_read_of_users_keeps_the_last_map_when_a_value_is_too_long(actors, sandbox, connection):
    before = set(connection.crm_users.values_list("crm_user_id", flat=True))
    CrmConnection.objects.filter(pk=connection.pk).update(users_read_at=None)
    connection.refresh_from_db()
    Owners(connection).read_users(UsersFrom([{"id": "4" * 300, "email": "new@crm.test", "full_name": "New"}]))
    assert set(connection.crm_users.values_list("crm_user_id", flat=True)) == before  # the sync goes on


def test_an_over_long_refusal_reason_from_the_accounts_server_still_marks_the_connection(actors, settings):
    settings.CRM_ALLOW_LOOPBACK = True
    with StubServer(body={"error": "invalid_code" * 60}) as zoho:
        connection = CrmConnectionFactory(organization=actors.organization, api_domain=zoho.url,
                                          accounts_url=zoho.url)
        with pytest.raises(Exception, match="Connect the CRM again"):
            services.client_for(connection).org()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH
    assert len(connection.status_message) <= 500 and "invalid_code" in connection.status_message
    page = actors.client_for(actors.admin).get(reverse("integration:zoho_apps")).content.decode()
    assert "no longer accepts this connection" in page
