"""crm_sync runs one sync in the foreground and prints its counts; crm_history lists runs."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer

from .conftest import configure


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_crm_sync_prints_the_runs_counts_as_one_json_line(actors, sandbox, connection):
    configure(connection, "customers", crm_source="accounts")
    lines = run("crm_sync", "--org", actors.organization.name, "--module", "customers").strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["status"] == "succeeded" and result["trigger"] == "instant"
    assert result["added"] == Customer.objects.filter(organization=actors.organization).count() > 0
    assert result["api_calls"] >= 1
    history = json.loads(run("crm_history", "--org", actors.organization.name, "--json"))
    assert [h["run_id"] for h in history] == [result["run_id"]]
    assert "customers" in run("crm_history", "--org", actors.organization.name)


def test_crm_sync_refuses_an_unconfigured_module(actors, sandbox, connection):
    with pytest.raises(CommandError, match="not configured"):
        run("crm_sync", "--org", actors.organization.name, "--module", "vendors")


def test_crm_sync_of_a_paused_module_is_skipped_with_the_reason(actors, sandbox, connection):
    configure(connection, "vendors", paused=True)
    result = json.loads(run("crm_sync", "--org", actors.organization.name, "--module", "vendors"))
    assert result["status"] == "skipped" and "paused" in result["failure_reason"]


@pytest.mark.parametrize("limit", ["-1", "0", "ten", "10001", str(2**63)])
def test_crm_history_refuses_a_limit_that_is_not_a_positive_count(actors, limit):
    with pytest.raises(CommandError, match="argument --limit: .*(not a whole number|not between 1 and 10000)"):
        run("crm_history", "--org", actors.organization.name, "--limit", limit)


def test_crm_history_lists_as_many_runs_as_the_limit_asks(actors, sandbox, connection):
    config = configure(connection, "vendors")
    for _ in range(3):
        config.runs.create(trigger="instant", status="succeeded")
    assert len(json.loads(run("crm_history", "--org", actors.organization.name, "--limit", "2", "--json"))) == 2


@pytest.mark.parametrize("issue_id", ["-1", "0", str(2**63)])
def test_crm_issues_refuses_an_issue_id_that_is_not_one(actors, sandbox, connection, issue_id):
    configure(connection, "vendors")
    with pytest.raises(CommandError, match="argument --retry: .*not between 1 and"):
        run("crm_issues", "--org", actors.organization.name, "--module", "vendors", "--retry", issue_id)
