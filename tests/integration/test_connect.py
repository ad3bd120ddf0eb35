"""Connecting a CRM organization: OAuth, Select Organization, prerequisites, one-way rule, disable/enable."""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integration import services
from integration.models import ConnectionStatus, CrmConnection
from tests.factories import MembershipFactory, OrganizationFactory
from tests.sandbox import consent, sandbox_client


def authorize(client, decision="accept"):
    """Connect → Continue to Zoho → the sandbox's consent page → back to us. Returns our response."""
    response = client.post(reverse("integration:connect"))
    assert response.status_code == 302
    back = consent(response["Location"], decision)
    return client.get(back)


def connect(client):
    response = authorize(client)
    assert response["Location"] == reverse("integration:select_organization")
    page = client.get(reverse("integration:select_organization"))
    crm_org_id = page.context["form"].fields["crm_org_id"].choices[0][0]
    return client.post(reverse("integration:select_organization"), {"crm_org_id": crm_org_id}), crm_org_id


def test_connect_page_shows_what_will_be_shared(actors, sandbox):
    actors.admin.email = "boss@acme.example"
    actors.admin.save()
    page = actors.client_for(actors.admin).get(reverse("integration:connect")).content.decode()
    assert actors.organization.name in page and actors.organization.email in page
    assert actors.organization.country in page and "boss@acme.example" in page


def test_admin_connects_through_oauth_and_select_organization(actors, sandbox):
    actors.admin.email = sandbox_client(sandbox).users()[0]["email"]
    actors.admin.save()
    client = actors.client_for(actors.admin)
    response, crm_org_id = connect(client)
    assert response["Location"] == reverse("integration:details")
    connection = CrmConnection.objects.get(organization=actors.organization)
    assert connection.crm_org_id == crm_org_id and connection.is_active and connection.two_way_allowed
    assert connection.connected_by == actors.admin
    assert connection.crm_users.filter(erp_user=actors.admin).exists()  # matched by email
    details = client.get(reverse("integration:details")).content.decode()
    assert "Both ways: modules set to Sync both ways" in details and connection.crm_org_name in details
    assert "connected" in details.lower() and actors.admin.username in details
    # The tokens work: the connection's own client can read the CRM.
    assert services.client_for(connection).org()["id"] == crm_org_id


def test_an_access_token_refreshed_while_connecting_is_the_one_stored(actors, sandbox):
    client = actors.client_for(actors.admin)
    assert authorize(client)["Location"] == reverse("integration:select_organization")
    sandbox.expire_tokens()  # the token from the authorization dies before the organization is chosen
    page = client.get(reverse("integration:select_organization"))
    crm_org_id = page.context["form"].fields["crm_org_id"].choices[0][0]
    client.post(reverse("integration:select_organization"), {"crm_org_id": crm_org_id})
    crm = services.client_for(CrmConnection.objects.get(organization=actors.organization))
    crm.org()
    assert crm.token_refreshes == 0


def test_the_crm_users_are_read_once_the_organization_is_chosen(actors, sandbox):
    client = actors.client_for(actors.admin)
    authorize(client)
    sandbox.reset_calls()
    page = client.get(reverse("integration:select_organization"))
    client.post(reverse("integration:select_organization"), {"crm_org_id": "not-offered"})
    assert not sandbox.calls()["calls"].get("GET /crm/v8/users")
    crm_org_id = page.context["form"].fields["crm_org_id"].choices[0][0]
    client.post(reverse("integration:select_organization"), {"crm_org_id": crm_org_id})
    assert sandbox.calls()["calls"].get("GET /crm/v8/users")
    assert CrmConnection.objects.get().crm_users.count() == len(sandbox_client(sandbox).users())


def test_reading_the_crm_users_again_writes_only_what_changed(actors, sandbox, connection):
    crm_users = sandbox_client(sandbox).users()
    with CaptureQueriesContext(db) as queries:
        services.crm_users_map(connection=connection, crm_users=crm_users)
    assert not [q for q in queries if "integration_crmuser" in q["sql"] and not q["sql"].startswith("SELECT")]
    actors.admin.email = crm_users[0]["email"]
    actors.admin.save()
    renamed = {**crm_users[1], "full_name": "Renamed Person"}
    joined = {"id": "5843104000999999001", "email": "joined@crm.example", "full_name": "Joined Later"}
    matched = services.crm_users_map(connection=connection, crm_users=[crm_users[0], renamed, *crm_users[2:], joined])
    assert matched == 1
    rows = {row.crm_user_id: row for row in connection.crm_users.all()}
    assert len(rows) == len(crm_users) + 1
    assert rows[str(crm_users[0]["id"])].erp_user == actors.admin
    assert rows[str(renamed["id"])].full_name == "Renamed Person"
    assert (rows[joined["id"]].email, rows[joined["id"]].full_name) == ("joined@crm.example", "Joined Later")


def test_a_rejected_consent_connects_nothing(actors, sandbox):
    client = actors.client_for(actors.admin)
    response = authorize(client, decision="reject")
    assert response["Location"] == reverse("integration:zoho_apps")
    assert not CrmConnection.objects.exists()


def test_a_callback_with_a_forged_state_is_refused(actors, sandbox):
    client = actors.client_for(actors.admin)
    client.post(reverse("integration:connect"))
    response = client.get(reverse("integration:oauth_callback"), {"code": "1000.x.y", "state": "forged"})
    assert response["Location"] == reverse("integration:zoho_apps")
    assert not CrmConnection.objects.exists()


def test_a_callback_naming_a_foreign_accounts_server_is_refused(actors, sandbox):
    client = actors.client_for(actors.admin)
    state = client.post(reverse("integration:connect")) and client.session["zoho_pending_authorization"]["state"]
    response = client.get(
        reverse("integration:oauth_callback"),
        {"code": "1000.x.y", "state": state, "accounts-server": "https://attacker.example"},
    )
    assert response["Location"] == reverse("integration:zoho_apps")
    assert not CrmConnection.objects.exists()


def test_a_free_edition_is_refused_and_nothing_is_saved(actors, sandbox):
    sandbox.set_org(paid_type="free", paid=False, trial_type=None)
    response, _ = connect(actors.client_for(actors.admin))
    assert response.status_code == 200
    assert "Professional or a higher edition is needed" in response.content.decode()
    assert not CrmConnection.objects.exists()


def test_a_standard_edition_is_refused(actors, sandbox):
    sandbox.set_org(paid_type="standard")
    response, _ = connect(actors.client_for(actors.admin))
    assert "Standard edition" in response.content.decode()
    assert not CrmConnection.objects.exists()


def test_multi_currency_with_another_base_currency_is_refused(actors, sandbox):
    sandbox.set_org(mc_status=True, iso_code="EUR")
    response, _ = connect(actors.client_for(actors.admin))
    content = response.content.decode()
    assert "base currency is EUR" in content and "USD" in content
    assert not CrmConnection.objects.exists()


def test_multi_currency_with_the_same_base_currency_connects(actors, sandbox):
    sandbox.set_org(mc_status=True, iso_code="USD", paid_type="enterprise")
    response, _ = connect(actors.client_for(actors.admin))
    assert response["Location"] == reverse("integration:details")


def test_a_second_organization_on_the_same_crm_is_one_way(actors, sandbox):
    connect(actors.client_for(actors.admin))
    second = OrganizationFactory(name="Second Books")
    second_admin = MembershipFactory(organization=second, role="admin").user
    client = actors.client_for(second_admin)
    connect(client)
    first_connection = CrmConnection.objects.get(organization=actors.organization)
    second_connection = CrmConnection.objects.get(organization=second)
    assert first_connection.two_way_allowed and not second_connection.two_way_allowed
    assert "Fetch from CRM only" in client.get(reverse("integration:details")).content.decode()


def test_disable_needs_confirmation_and_enable_asks_for_the_organization(actors, sandbox):
    client = actors.client_for(actors.admin)
    _, crm_org_id = connect(client)
    connection = CrmConnection.objects.get()
    response = client.post(reverse("integration:disable"), {})
    assert "Tick the box to confirm." in response.content.decode()
    client.post(reverse("integration:disable"), {"confirm": "on"})
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISABLED
    # Enable Integration asks for confirmation first, then for the organization, and the last button is Save.
    asked = client.get(reverse("integration:enable")).content.decode()
    assert "Enable the Zoho CRM integration?" in asked and ">Confirm</button>" in asked
    assert "Tick the box to confirm." in client.post(reverse("integration:enable"), {}).content.decode()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISABLED
    response = client.post(reverse("integration:enable"), {"confirm": "on"})
    assert response["Location"] == reverse("integration:select_organization")
    chooser = client.get(reverse("integration:select_organization")).content.decode()
    assert ">Save</button>" in chooser and ">Connect</button>" not in chooser
    client.post(reverse("integration:select_organization"), {"crm_org_id": crm_org_id})
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    actions = list(connection.events.values_list("action", "user"))
    assert actions[:3] == [("enabled", actors.admin.pk), ("disabled", actors.admin.pk), ("connected", actors.admin.pk)]


def test_a_revoked_token_asks_for_authorization_again(actors, sandbox, connection):
    CrmConnection.objects.filter(pk=connection.pk).update(access_token="")
    connection.refresh_from_db()
    connection.refresh_token = "1000.revoked.token"
    connection.save()
    with pytest.raises(Exception, match="Connect the CRM again"):
        services.client_for(connection).org()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH
    page = actors.client_for(actors.admin).get(reverse("integration:zoho_apps")).content.decode()
    assert "no longer accepts this connection" in page
    # Authorizing again restores it.
    response, _ = connect(actors.client_for(actors.admin))
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE and connection.refresh_token != "1000.revoked.token"


@pytest.mark.parametrize("role", ["finance", "ops"])
@pytest.mark.parametrize(
    "name", ["zoho_apps", "connect", "oauth_callback", "select_organization", "details", "disable", "enable"]
)
def test_only_admins_reach_the_integration_pages(actors, role, name):
    client = actors.client_for(getattr(actors, role))
    assert client.get(reverse(f"integration:{name}")).status_code == 403
    assert client.post(reverse(f"integration:{name}")).status_code == 403


def test_another_organizations_connection_is_invisible(actors, sandbox, connection):
    assert actors.client_for(actors.outsider).get(reverse("integration:details")).status_code == 404


def test_the_database_holds_no_token_in_plain_text(actors, sandbox, connection):
    client = services.client_for(connection)
    client.org()  # stores a fresh access token
    connection.refresh_from_db()
    secrets_in_use = [connection.refresh_token, connection.access_token, connection.client_secret]
    assert all(secrets_in_use)
    with db.cursor() as cursor:
        cursor.execute("SELECT refresh_token, access_token, client_secret FROM integration_crmconnection")
        stored = " ".join(cursor.fetchone())
    for secret in secrets_in_use:
        assert secret not in stored


def test_pages_never_show_tokens(actors, sandbox, connection):
    client = actors.client_for(actors.admin)
    services.client_for(connection).org()
    connection.refresh_from_db()
    for name in ["zoho_apps", "details", "disable"]:
        page = client.get(reverse(f"integration:{name}")).content.decode()
        assert connection.refresh_token not in page and connection.access_token not in page
