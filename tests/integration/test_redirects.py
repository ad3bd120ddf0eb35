"""The client follows no redirect, on the API or at the accounts server: tokens go only to the hosts that
were checked, and a redirect is an error that says so."""

import datetime

import pytest

from integration.crm.client import exchange_grant_code
from integration.crm.errors import CrmRedirected
from tests.http_stub import StubServer
from tests.sandbox import sandbox_client


@pytest.fixture
def elsewhere():
    """Where the redirects point: it must never be asked anything."""
    with StubServer(body={"data": [], "access_token": "1000.stolen.token", "status": "success"}) as server:
        yield server


@pytest.fixture(params=[301, 302, 303, 307, 308])
def redirector(request, elsewhere):
    with StubServer(status=request.param, headers={"Location": f"{elsewhere.url}/landed?x=1"}) as server:
        yield server


def fresh(sandbox, **options):
    """A client whose access token is good for an hour: its first call goes straight to the API."""
    token = sandbox.access_token(fresh=True)
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    return sandbox_client(sandbox, access_token=token, access_token_expires_at=expires, **options)


def test_an_api_read_answered_with_a_redirect_is_an_error_and_not_followed(sandbox, redirector, elsewhere):
    client = fresh(sandbox, api_domain=redirector.url)
    with pytest.raises(CrmRedirected) as error:
        client.org()
    assert f"redirect ({redirector.status}) to 127.0.0.1" in str(error.value)
    assert "landed" not in str(error.value)  # only the host of the Location is told
    assert [r.method for r in redirector.received] == ["GET"]  # not retried either
    assert elsewhere.received == []


def test_an_api_write_answered_with_a_redirect_is_not_sent_on(sandbox, redirector, elsewhere):
    client = fresh(sandbox, api_domain=redirector.url)
    with pytest.raises(CrmRedirected):
        client.upsert("Accounts", [{"Account_Name": "Redirected Ltd"}], duplicate_check_fields=["Account_Name"])
    assert len(redirector.received) == 1 and elsewhere.received == []


def test_a_token_refresh_answered_with_a_redirect_is_an_error_not_a_lost_authorization(sandbox, redirector,
                                                                                      elsewhere):
    failures = []
    client = sandbox_client(sandbox, accounts_url=redirector.url, on_auth_failure=failures.append)
    with pytest.raises(CrmRedirected, match="accounts server answered with a redirect"):
        client.org()
    assert [r.path for r in redirector.received] == ["/oauth/v2/token"]
    assert elsewhere.received == [] and failures == []  # the connection is not marked for re-authorization


def test_a_code_exchange_answered_with_a_redirect_is_not_followed(redirector, elsewhere):
    with pytest.raises(CrmRedirected):
        exchange_grant_code(accounts_url=redirector.url, client_id="1000.X", client_secret="s", code="1000.c.d",
                            redirect_uri="https://erp.example/cb", allow_loopback=True)
    assert elsewhere.received == []


def test_a_revocation_answered_with_a_redirect_is_not_followed(sandbox, redirector, elsewhere):
    client = sandbox_client(sandbox, accounts_url=redirector.url)
    with pytest.raises(CrmRedirected):
        client.revoke_refresh_token()
    assert elsewhere.received == []


def test_not_modified_is_still_an_answer_and_no_redirect(crm_client):
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert list(crm_client.iter_pages("Accounts", fields=["Account_Name"], modified_since=future)) == []
