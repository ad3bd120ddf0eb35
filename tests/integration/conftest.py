import pytest

from integration import services
from integration.crm.client import CrmClient


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


@pytest.fixture
def crm_client(sandbox) -> CrmClient:
    return sandbox_client(sandbox)


@pytest.fixture
def connection(sandbox, actors):
    crm = sandbox_client(sandbox)
    return services.connection_create(
        organization=actors.organization,
        user=actors.admin,
        crm_org=crm.org(),
        api_domain=sandbox.base_url,
        accounts_url=sandbox.base_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        refresh_token=sandbox.refresh_token,
        crm_users=crm.users(),
    )
