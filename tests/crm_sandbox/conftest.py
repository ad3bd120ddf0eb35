"""`crm` resets the session's sandbox (tests/sandbox.py) to the seed data before a test."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from crm_sandbox.process import SandboxProcess


class CrmApi:
    """A thin Zoho client for the tests: base URL, version prefix and the OAuth header."""

    def __init__(self, sandbox: SandboxProcess, version: str = "v8"):
        self.sandbox = sandbox
        self.prefix = f"{sandbox.base_url}/crm/{version}"
        self.bulk_prefix = f"{sandbox.base_url}/crm/bulk/{version}"
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else self.prefix + path
        headers = {**self.sandbox.auth_headers(), **kwargs.pop("headers", {})}
        return self.session.request(method, url, headers=headers, timeout=30, **kwargs)

    def bulk_read(self, method: str, path: str = "", **kwargs) -> requests.Response:
        """/crm/bulk/{version}/read + path: Bulk Read jobs, their status and results."""
        return self.request(method, f"{self.bulk_prefix}/read{path}", **kwargs)

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


class Receiver:
    """A callback URL on loopback that keeps every JSON body it is sent."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/zoho/notify?src=crm"

    def wait(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.02)
        return self.received

    def quiet(self, seconds: float = 0.4) -> list[dict]:
        time.sleep(seconds)
        return self.received


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == "error"
    assert isinstance(body["details"], dict) and isinstance(body["message"], str)
    return body
