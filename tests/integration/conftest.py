import pytest

from integration.crm.client import CrmClient
from tests.sandbox import sandbox_client


@pytest.fixture
def crm_client(sandbox) -> CrmClient:
    return sandbox_client(sandbox)
