"""A loopback HTTP server with one canned answer, for what the CRM sandbox will not do: redirect, fail at
the accounts server, answer with odd data. It keeps every request it was sent."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str  # with the query string
    body: bytes


class StubServer:
    def __init__(self, status: int = 200, body: dict | None = None, headers: dict | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.received: list[Received] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                stub.received.append(Received(self.command, self.path, self.rfile.read(length)))
                payload = json.dumps(stub.body).encode() if stub.body is not None else b""
                self.send_response(stub.status)
                for name, value in stub.headers.items():
                    self.send_header(name, value)
                if payload:
                    self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> StubServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
