"""Delete Integration revokes the connection's refresh token at Zoho before the connection goes; when Zoho
cannot be reached or fails, the integration is deleted all the same, and the result and the notification
say the authorization is still there."""

import logging

import pytest
import requests

from crm_sandbox.process import free_port
from integration.models import CrmConnection
from organizations.models import Notification
from sync.services import integration_delete
from tests.http_stub import StubServer
from tests.sandbox import sandbox_client


def refresh(sandbox, refresh_token: str) -> dict:
    response = requests.post(f"{sandbox.base_url}/oauth/v2/token", timeout=10, data={
        "grant_type": "refresh_token", "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
        "refresh_token": refresh_token})
    assert response.status_code == 200
    return response.json()


def org_status(sandbox, access_token: str) -> tuple[int, str]:
    response = requests.get(f"{sandbox.base_url}/crm/v8/org", timeout=10,
                            headers={"Authorization": f"Zoho-oauthtoken {access_token}"})
    return response.status_code, response.json().get("code", "")


def test_after_delete_integration_the_sandbox_refuses_the_old_tokens(actors, sandbox, connection, caplog):
    caplog.set_level(logging.INFO)
    refresh_token = connection.refresh_token
    access_token = refresh(sandbox, refresh_token)["access_token"]
    assert org_status(sandbox, access_token)[0] == 200

    counts = integration_delete(connection=connection, mode="all", notify=actors.admin)

    assert counts["revoked"] is True
    assert not CrmConnection.objects.exists()
    assert refresh(sandbox, refresh_token) == {"error": "invalid_code"}
    assert org_status(sandbox, access_token) == (401, "INVALID_TOKEN")
    assert sandbox.calls()["calls"]["POST /oauth/v2/token/revoke"] == 1
    assert "revoke" not in Notification.objects.get(user=actors.admin).message
    assert refresh_token not in caplog.text
    assert sandbox_client(sandbox).org()["id"]  # other credentials of the same client still work


@pytest.mark.parametrize("failure", ["server error", "no answer", "refused"])
def test_a_failed_revocation_still_deletes_the_integration_and_says_so(actors, sandbox, connection, caplog, failure):
    caplog.set_level(logging.INFO)
    answers = {"server error": (503, {"code": "INTERNAL_ERROR"}), "refused": (400, {"error": "invalid_request"})}
    status, body = answers.get(failure, (200, None))
    with StubServer(status=status, body=body) as zoho:
        accounts_url = f"http://127.0.0.1:{free_port()}" if failure == "no answer" else zoho.url
        CrmConnection.objects.filter(pk=connection.pk).update(accounts_url=accounts_url)
        connection.refresh_from_db()
        refresh_token = connection.refresh_token

        counts = integration_delete(connection=connection, mode="all", notify=actors.admin)

    assert counts == {"kept": 0, "deleted": 0, "revoked": False}
    assert not CrmConnection.objects.exists() and not actors.organization.crm_connections.exists()
    if failure != "no answer":
        assert [(r.method, r.path.split("?")[0]) for r in zoho.received] == [("POST", "/oauth/v2/token/revoke")]
    message = Notification.objects.get(user=actors.admin).message
    assert message.startswith("The Zoho CRM integration was deleted.")
    assert "Zoho could not be asked to revoke this ERP's authorization" in message
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "integration"]
    assert len(warnings) == 1 and "was not revoked" in warnings[0].getMessage()
    assert refresh_token not in caplog.text
    assert "access_token" in refresh(sandbox, refresh_token)  # it was not revoked: the notification is right
