"""The CRM sandbox as the tests use it: one process per test session, reset to the demo seed per test,
and the product's settings pointed at it (as `make demo` does)."""

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from crm_sandbox.process import SandboxProcess
from integration import services
from integration.crm.client import CrmClient


@pytest.fixture(scope="session")
def crm_sandbox():
    with SandboxProcess(seed="demo") as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(crm_sandbox, settings):
    crm_sandbox.reset()
    crm_sandbox.reset_calls()
    settings.CRM_ALLOW_LOOPBACK = True
    settings.ZOHO_CLIENT_ID = crm_sandbox.client_id
    settings.ZOHO_CLIENT_SECRET = crm_sandbox.client_secret
    settings.ZOHO_ACCOUNTS_URL = crm_sandbox.base_url
    return crm_sandbox


def consent(auth_url: str, decision: str = "accept") -> str:
    """Press Accept (or Reject) on the sandbox's consent page; returns the redirect back to us."""
    parts = urlsplit(auth_url)
    form = dict(parse_qsl(parts.query))
    response = requests.post(
        f"{parts.scheme}://{parts.netloc}/oauth/v2/auth", data={**form, "decision": decision},
        allow_redirects=False, timeout=10,
    )
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def sandbox_client(sandbox, **options) -> CrmClient:
    arguments = {
        "api_domain": sandbox.base_url,
        "accounts_url": sandbox.base_url,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "refresh_token": sandbox.refresh_token,
        "allow_loopback": True,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
    }
    return CrmClient(**{**arguments, **options})


def crm_records(client: CrmClient, module: str, **kwargs):
    """Every record of a CRM module, page after page (what the tests read the CRM with)."""
    for page in client.iter_pages(module, **kwargs):
        yield from page.records


@pytest.fixture
def connection(sandbox, actors):
    """A connection with a refresh token of its own, as Connect leaves one: deleting it revokes that token,
    and the sandbox's configured one goes on working for the rest of the test."""
    crm = sandbox_client(sandbox)
    return services.connection_create(
        organization=actors.organization,
        user=actors.admin,
        crm_org=crm.org(),
        api_domain=sandbox.base_url,
        accounts_url=sandbox.base_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        refresh_token=sandbox.issue_refresh_token(),
        crm_users=crm.users(),
    )
