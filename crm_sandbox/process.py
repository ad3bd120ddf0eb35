"""Run the sandbox as a child process on a free loopback port: for tests, benchmarks and the demo.

    with SandboxProcess(data_path) as sandbox:
        requests.get(sandbox.base_url + "/crm/v8/org", headers=sandbox.auth_headers())

Only the standard library is used here too, so anything can start a sandbox without extra packages.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

from .app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class SandboxProcess:
    def __init__(self, data_path: str | None = None, *, seed: str = "demo", seed_size: str | None = None,
                 host: str = "127.0.0.1", port: int | None = None, extra_args: list[str] | None = None,
                 client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 refresh_token: str = DEFAULT_REFRESH_TOKEN, start_timeout: float = 120.0):
        self._tempdir = None
        if data_path is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="crm-sandbox-")
            data_path = os.path.join(self._tempdir.name, "crm-sandbox.sqlite3")
        self.data_path = data_path
        self.host = host
        self.port = port or free_port(host)
        self.base_url = f"http://{host}:{self.port}"
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.start_timeout = start_timeout
        self.args = [sys.executable, "-m", "crm_sandbox", "serve", "--host", host, "--port", str(self.port),
                     "--data", data_path, "--seed", seed, "--client-id", client_id,
                     "--client-secret", client_secret, "--refresh-token", refresh_token]
        if seed_size:
            self.args += ["--seed-size", seed_size]
        self.args += extra_args or []
        self.process: subprocess.Popen | None = None
        self._log = None
        self._access_token: str | None = None

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> "SandboxProcess":
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        # stderr goes to a file, not a pipe: nobody drains a pipe while the sandbox runs, and a full one
        # would block the server on its next traceback.
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.args, env=env, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"crm sandbox exited with {self.process.returncode}: {self.log_tail()}")
            try:
                self._call("GET", "/__sandbox__/health")
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"crm sandbox did not answer within {self.start_timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def log_tail(self, size: int = 4000) -> str:
        """The end of the sandbox's stderr (tracebacks of unexpected errors land there)."""
        if self._log is None:
            return ""
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - size))
        return self._log.read().decode(errors="replace")

    def __enter__(self) -> "SandboxProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- control endpoints -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body=None, timeout: float = 300):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path} -> {error.code}: {error.read().decode(errors='replace')}") from None

    def config(self, **settings) -> dict:
        """Change knobs (latency_ms, error_rate_5xx, rate_limit_per_minute, ...); returns the full config."""
        return self._call("POST", "/__sandbox__/config", settings)

    def reset(self) -> None:
        """Back to the seed data and the start configuration; tokens stay valid."""
        self._call("POST", "/__sandbox__/reset", {})

    def calls(self) -> dict:
        return self._call("GET", "/__sandbox__/calls")

    def reset_calls(self) -> None:
        self._call("POST", "/__sandbox__/calls/reset", {})

    def expire_tokens(self) -> int:
        return self._call("POST", "/__sandbox__/expire-tokens", {})["expired"]

    def notifications(self) -> dict:
        """Callbacks sent, dropped, duplicated and failed, and how many channels there are."""
        return self._call("GET", "/__sandbox__/notifications")

    def expire_page_tokens(self) -> int:
        return self._call("POST", "/__sandbox__/expire-page-tokens", {})["expired"]

    def set_org(self, **changes) -> dict:
        return self._call("PATCH", "/__sandbox__/org", changes)

    def rename_field(self, module: str, api_name: str, label: str) -> dict:
        return self._call("PATCH", f"/__sandbox__/fields/{module}/{api_name}", {"field_label": label})["field"]

    def change_field(self, module: str, field: str, **changes) -> dict:
        """A custom field's `api_name` or `data_type` changed, as an administrator may change them."""
        return self._call("PATCH", f"/__sandbox__/fields/{module}/{field}", changes)["field"]

    def delete_field(self, module: str, field: str) -> None:
        self._call("DELETE", f"/__sandbox__/fields/{module}/{field}")

    def create_record(self, module: str, values: dict) -> dict:
        return self._call("POST", f"/__sandbox__/records/{module}", values)["data"]

    def edit_record(self, module: str, record_id: str, values: dict) -> dict:
        return self._call("PATCH", f"/__sandbox__/records/{module}/{record_id}", values)["data"]

    def get_record(self, module: str, record_id: str) -> dict:
        return self._call("GET", f"/__sandbox__/records/{module}/{record_id}")["data"]

    def delete_record(self, module: str, record_id: str, permanent: bool = False) -> None:
        suffix = "?permanent=true" if permanent else ""
        self._call("DELETE", f"/__sandbox__/records/{module}/{record_id}{suffix}")

    def bulk(self, module: str, **changes) -> dict:
        return self._call("POST", f"/__sandbox__/records/{module}/bulk", changes)

    # --- OAuth -------------------------------------------------------------------------------------------

    def access_token(self, fresh: bool = False) -> str:
        """An access token from the refresh grant, as a Zoho client would get one."""
        if self._access_token is None or fresh:
            form = urlencode({"grant_type": "refresh_token", "client_id": self.client_id,
                              "client_secret": self.client_secret, "refresh_token": self.refresh_token})
            request = urllib.request.Request(self.base_url + "/oauth/v2/token", data=form.encode(), method="POST")
            with urllib.request.urlopen(request, timeout=30) as response:
                self._access_token = json.loads(response.read())["access_token"]
        return self._access_token

    def issue_refresh_token(self) -> str:
        """A refresh token of its own (POST /__sandbox__/refresh-tokens), as connecting through the consent
        page gives one: revoking it leaves the configured token working."""
        return self._call("POST", "/__sandbox__/refresh-tokens", {})["refresh_token"]

    def auth_headers(self) -> dict:
        return {"Authorization": f"Zoho-oauthtoken {self.access_token()}"}
