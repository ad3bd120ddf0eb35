"""`crm_connect` takes the client secret and refresh token from the environment or from a file, never from
the command line, where ps and the shell's history keep them."""

import json

import pytest
from django.core.management import CommandError, call_command

from integration.models import CrmConnection


def connect(sandbox, actors, capsys, **options):
    call_command("crm_connect", org=actors.organization.name, api_domain=sandbox.base_url,
                 accounts_url=sandbox.base_url, client_id=sandbox.client_id, **options)
    return json.loads(capsys.readouterr().out)


def test_the_secrets_come_from_the_environment(sandbox, actors, capsys, monkeypatch):
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", sandbox.refresh_token)
    made = connect(sandbox, actors, capsys)
    connection = CrmConnection.objects.get(pk=made["connection_id"])
    assert connection.organization == actors.organization and connection.refresh_token == sandbox.refresh_token


def test_the_secrets_come_from_a_file(sandbox, actors, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("ZOHO_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("ZOHO_REFRESH_TOKEN", raising=False)
    secrets = tmp_path / "zoho.env"
    secrets.write_text(f"# from the API console\nZOHO_CLIENT_SECRET={sandbox.client_secret}\n"
                       f"export ZOHO_REFRESH_TOKEN='{sandbox.refresh_token}'\n")
    made = connect(sandbox, actors, capsys, secrets_file=str(secrets))
    assert CrmConnection.objects.get(pk=made["connection_id"]).refresh_token == sandbox.refresh_token


def test_secrets_on_the_command_line_or_missing_are_refused(sandbox, actors, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("ZOHO_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", sandbox.refresh_token)
    with pytest.raises(CommandError, match="ps and the shell's history"):
        connect(sandbox, actors, capsys, client_secret=sandbox.client_secret, refresh_token=sandbox.refresh_token)
    with pytest.raises(CommandError, match="ZOHO_CLIENT_SECRET not found in the environment"):
        connect(sandbox, actors, capsys)
    with pytest.raises(CommandError, match="Cannot read the secrets file"):
        connect(sandbox, actors, capsys, secrets_file=str(tmp_path / "absent"))
    assert not CrmConnection.objects.exists()
