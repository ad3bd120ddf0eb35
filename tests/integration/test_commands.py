"""crm_connect and crm_status, the scripted way to connect."""

import json

import pytest
from django.core.management import CommandError, call_command

from integration.models import CrmConnection


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def connect_args(sandbox, org, **overrides):
    values = {
        "--org": org, "--api-domain": sandbox.base_url, "--accounts-url": sandbox.base_url,
        "--client-id": sandbox.client_id, **overrides,
    }
    return [item for pair in values.items() for item in pair]


@pytest.fixture(autouse=True)
def secrets_in_the_environment(request, monkeypatch):
    """crm_connect reads the client secret and refresh token from the environment."""
    if "sandbox" in request.fixturenames:
        sandbox = request.getfixturevalue("sandbox")
        monkeypatch.setenv("ZOHO_CLIENT_SECRET", sandbox.client_secret)
        monkeypatch.setenv("ZOHO_REFRESH_TOKEN", sandbox.refresh_token)


def test_crm_connect_prints_the_connection_and_crm_status_reads_it(actors, sandbox):
    out = json.loads(run("crm_connect", *connect_args(sandbox, actors.organization.name)))
    connection = CrmConnection.objects.get(pk=out["connection_id"])
    assert out["two_way_allowed"] is True and connection.organization == actors.organization
    status = json.loads(run("crm_status", "--org", actors.organization.name, "--json"))
    assert status["status"] == "active" and status["crm_org_id"] == connection.crm_org_id
    assert status["modules"] == {"customers": False, "vendors": False, "items": False}
    assert "both ways allowed" in run("crm_status", "--org", actors.organization.name)


def test_crm_connect_runs_the_prerequisite_checks(actors, sandbox):
    sandbox.set_org(paid_type="free", paid=False, trial_type=None)
    with pytest.raises(CommandError, match="Professional or a higher edition"):
        run("crm_connect", *connect_args(sandbox, actors.organization.name))
    assert not CrmConnection.objects.exists()


def test_crm_connect_checks_the_crm_org_id(actors, sandbox):
    with pytest.raises(CommandError, match="not 42"):
        run("crm_connect", *connect_args(sandbox, actors.organization.name, **{"--crm-org-id": "42"}))


def test_crm_connect_refuses_non_zoho_urls(actors, sandbox, settings):
    settings.CRM_ALLOW_LOOPBACK = False
    with pytest.raises(CommandError, match="CRM_ALLOW_LOOPBACK"):
        run("crm_connect", *connect_args(sandbox, actors.organization.name))


def test_crm_status_for_an_unconnected_organization(actors):
    assert json.loads(run("crm_status", "--org", actors.organization.name, "--json")) == {"connected": False}
