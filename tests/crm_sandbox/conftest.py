"""`crm` resets the session's sandbox (tests/sandbox.py) to the seed data before a test."""

import pytest
import requests

from crm_sandbox.process import SandboxProcess


class CrmApi:
    """A thin Zoho client for the tests: base URL, version prefix and the OAuth header."""

    def __init__(self, sandbox: SandboxProcess, version: str = "v8"):
        self.sandbox = sandbox
        self.prefix = f"{sandbox.base_url}/crm/{version}"
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.sandbox.auth_headers(), **kwargs.pop("headers", {})}
        return self.session.request(method, self.prefix + path, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def all_ids(self, module: str) -> list[str]:
        """Every record id of a module, following page_token."""
        ids, params = [], {"fields": "id", "per_page": 200}
        while True:
            response = self.get(f"/{module}", params=params)
            if response.status_code == 204:
                return ids
            body = response.json()
            ids += [record["id"] for record in body["data"]]
            if not body["info"]["more_records"]:
                return ids
            params = {"fields": "id", "per_page": 200, "page_token": body["info"]["next_page_token"]}


@pytest.fixture(scope="session")
def crm_sandbox():
    with SandboxProcess(seed="demo") as sandbox:
        yield sandbox
        # Whatever the tests sent, the server never hit an unexpected error.
        assert "Traceback" not in sandbox.log_tail(1_000_000), sandbox.log_tail()


@pytest.fixture
def crm(crm_sandbox) -> CrmApi:
    """The v8 API on freshly reset sandbox data and configuration, with a fresh access token."""
    crm_sandbox.reset()
    crm_sandbox.access_token(fresh=True)
    return CrmApi(crm_sandbox)


@pytest.fixture
def crm_v2(crm_sandbox) -> CrmApi:
    crm_sandbox.reset()
    crm_sandbox.access_token(fresh=True)
    return CrmApi(crm_sandbox, "v2")


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == "error"
    assert isinstance(body["details"], dict) and isinstance(body["message"], str)
    return body
