"""HTTP: routing, the order of checks (faults, rate limit, auth), and Zoho's response conventions."""

import json
import os
import re
import shutil
import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import api, control, oauth
from .app import Reply, Sandbox
from .errors import ApiError

_VERSION = r"(?P<version>v2|v2\.1|v[3-8])"
_MODULE = r"(?P<module>[^/]+)"

# (methods, path pattern, handler). Order matters: fixed paths before the generic module patterns.
ROUTES = [
    ({"GET"}, r"/oauth/v2/auth", oauth.consent_page),
    ({"POST"}, r"/oauth/v2/auth", oauth.consent_decision),
    ({"POST"}, r"/oauth/v2/token", oauth.token),
    ({"POST"}, r"/oauth/v2/token/revoke", oauth.revoke),
    ({"GET"}, rf"/crm/{_VERSION}/org", api.get_org),
    ({"GET"}, rf"/crm/{_VERSION}/org/currencies", api.get_currencies),
    ({"GET"}, rf"/crm/{_VERSION}/users", api.get_users),
    ({"GET"}, rf"/crm/{_VERSION}/users/(?P<user_id>\d+)", api.get_users),
    ({"GET"}, rf"/crm/{_VERSION}/settings/modules", api.get_modules),
    ({"GET"}, rf"/crm/{_VERSION}/settings/modules/(?P<name>[^/]+)", api.get_modules),
    ({"GET"}, rf"/crm/{_VERSION}/settings/fields", api.get_fields),
    ({"POST"}, rf"/crm/{_VERSION}/settings/fields", api.create_fields),
    ({"GET"}, rf"/crm/{_VERSION}/settings/fields/(?P<field_id>[^/]+)", api.get_fields),
    ({"GET"}, rf"/crm/{_VERSION}/settings/layouts", api.get_layouts),
    ({"GET"}, rf"/crm/{_VERSION}/settings/layouts/(?P<layout_id>[^/]+)", api.get_layouts),
    ({"GET"}, rf"/crm/{_VERSION}/settings/custom_views", api.get_custom_views),
    ({"GET"}, rf"/crm/{_VERSION}/settings/custom_views/(?P<view_id>[^/]+)", api.get_custom_views),
    ({"GET", "POST", "PUT", "PATCH", "DELETE"}, rf"/crm/{_VERSION}/actions/watch", api.watch),
    ({"POST"}, rf"/crm/bulk/{_VERSION}/read", api.bulk_read_create),
    ({"GET"}, rf"/crm/bulk/{_VERSION}/read/(?P<job_id>[^/]+)", api.bulk_read_job),
    ({"GET"}, rf"/crm/bulk/{_VERSION}/read/(?P<job_id>[^/]+)/result", api.bulk_read_result),
    ({"GET"}, rf"/crm/{_VERSION}/{_MODULE}/deleted", api.get_deleted),
    ({"GET"}, rf"/crm/{_VERSION}/{_MODULE}/search", api.search),
    ({"GET"}, rf"/crm/{_VERSION}/{_MODULE}/actions/count", api.count),
    ({"POST"}, rf"/crm/{_VERSION}/{_MODULE}/upsert", api.upsert),
    ({"GET", "PUT", "DELETE"}, rf"/crm/{_VERSION}/{_MODULE}/(?P<record_id>[^/]+)", api.one_record),
    ({"GET", "POST", "PUT", "DELETE"}, rf"/crm/{_VERSION}/{_MODULE}", api.list_or_write),
    ({"GET"}, r"/__sandbox__/health", control.health),
    ({"GET", "POST"}, r"/__sandbox__/config", control.config),
    ({"POST"}, r"/__sandbox__/expire-tokens", control.expire_tokens),
    ({"POST"}, r"/__sandbox__/refresh-tokens", control.refresh_tokens),
    ({"POST"}, r"/__sandbox__/expire-page-tokens", control.expire_page_tokens),
    ({"GET"}, r"/__sandbox__/calls", control.calls),
    ({"GET"}, r"/__sandbox__/notifications", control.notifications),
    ({"POST"}, r"/__sandbox__/calls/reset", control.reset_calls),
    ({"POST"}, r"/__sandbox__/reset", control.reset),
    ({"GET", "PATCH"}, r"/__sandbox__/org", control.org),
    ({"PATCH", "DELETE"}, rf"/__sandbox__/fields/{_MODULE}/(?P<api_name>[A-Za-z0-9_]+)", control.field_rename),
    ({"POST"}, rf"/__sandbox__/records/{_MODULE}/bulk", control.bulk),
    ({"POST"}, rf"/__sandbox__/records/{_MODULE}", control.record_create),
    ({"GET", "PATCH", "DELETE"}, rf"/__sandbox__/records/{_MODULE}/(?P<record_id>[^/]+)", control.record_edit),
]
_COMPILED = [(methods, re.compile(pattern + r"/?"), handler) for methods, pattern, handler in ROUTES]


class Request:
    def __init__(self, method: str, path: str, query: dict, headers, body: bytes, base_url: str):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.base_url = base_url
        self.version = 8


def route(request: Request):
    """(handler, path parts) for a request, or ApiError 404/405."""
    allowed = False
    for methods, pattern, handler in _COMPILED:
        match = pattern.fullmatch(request.path)
        if match is None:
            continue
        if allowed and "module" in pattern.groupindex:
            # A fixed path (/org, /users, ...) with the wrong method is not a module called "org".
            break
        if request.method not in methods:
            allowed = True
            continue
        parts = match.groupdict()
        version = parts.pop("version", None)
        if version is not None:
            request.version = 2 if version.startswith("v2") else int(version[1:])
        return handler, parts
    if allowed:
        raise ApiError(405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one")
    raise ApiError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")


BULK_READ_CREDITS = 50


def call_credits(request: Request) -> int:
    """What Zoho charges for a call: 1 for most reads, 3 for a custom view's records, 2 for the deleted
    records, 1 per 10 records written, 50 for a Bulk Read job (its status and download: nothing)."""
    if request.path.startswith("/crm/bulk/"):
        return BULK_READ_CREDITS if request.method == "POST" else 0
    if request.method == "GET":
        if request.path.endswith("/deleted"):
            return 2
        return 3 if request.query.get("cvid") and request.path.count("/") == 3 else 1
    try:
        records = json.loads(request.body or b"{}").get("data")
    except (ValueError, AttributeError):
        records = None
    return max(1, -(-len(records) // 10)) if isinstance(records, list) else 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZohoCrmSandbox/1.0"
    sandbox: Sandbox = None  # set by make_server
    verbose = False

    def setup(self):
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle plus delayed ACKs add ~40 ms a call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format, *args):
        if self.verbose:
            # The request line is logged without its query string: OAuth parameters may sit there.
            sys.stderr.write(f"{self.address_string()} {self.command} {urlsplit(self.path).path} {args[1:]}\n")

    def _handle(self):
        parts = urlsplit(self.path)
        length = self.headers.get("Content-Length") or "0"
        body = self.rfile.read(int(length)) if length.isascii() and length.isdigit() else b""
        host, port = self.server.server_address[:2]
        base_url = f"http://{self.headers.get('Host') or f'{host}:{port}'}"
        request = Request(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                          self.headers, body, base_url)
        try:
            reply = self._dispatch(request)
        except ApiError as error:
            reply = Reply(error.status, error.body())
        except Exception:
            traceback.print_exc(file=sys.stderr)
            reply = Reply(500, {"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error",
                                "status": "error"})
        if reply is None:
            # An injected dropped connection: close without a byte of answer.
            self.close_connection = True
            return
        try:
            self._send(reply, getattr(request, "extra_headers", {}))
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its timeout fired during an injected delay); nothing to tell it.
            self.close_connection = True

    def _dispatch(self, request: Request) -> Reply | None:
        sandbox = self.sandbox
        if request.path.startswith("/__sandbox__/"):
            handler, parts = route(request)
            return handler(sandbox, request, **parts)
        with sandbox.lock:
            sandbox.calls[f"{request.method} {request.path}"] += 1
        latency = sandbox.config["latency_ms"]
        if latency:
            time.sleep(latency / 1000)
        if request.path.startswith("/crm/"):
            fault = self._inject_fault(request)
            if fault is not None or getattr(request, "dropped", False):
                return fault
            self._rate_limit(request)
            self._count_credits(request)
            oauth.check_access(sandbox, request)
        handler, parts = route(request)
        return handler(sandbox, request, **parts)

    def _inject_fault(self, request: Request) -> Reply | None:
        sandbox = self.sandbox
        with sandbox.lock:
            config = sandbox.config
            roll = sandbox.rng.random()
            kind = None
            for name, rate in (("drop", config["drop_rate"]), ("timeout", config["timeout_rate"]),
                               ("5xx", config["error_rate_5xx"]), ("429", config["error_rate_429"])):
                if roll < rate:
                    kind = name
                    break
                roll -= rate
            if kind:
                sandbox.faults[kind] += 1
        if kind == "drop":
            request.dropped = True
            return None
        if kind == "timeout":
            # Hold the answer back long enough for a client's read timeout to fire, then answer normally.
            time.sleep(config["timeout_ms"] / 1000)
            return None
        if kind == "5xx":
            return Reply(500, {"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error",
                               "status": "error"})
        if kind == "429":
            request.extra_headers = self._rate_headers(remaining=0)
            return Reply(429, _too_many())
        return None

    def _rate_headers(self, remaining: int) -> dict:
        limit = self.sandbox.config["rate_limit_per_minute"]
        window_end = (int(time.time()) // 60 + 1) * 60
        return {
            "X-RATELIMIT-LIMIT": str(limit), "X-RATELIMIT-REMAINING": str(max(0, remaining)),
            "X-RATELIMIT-RESET": str(window_end * 1000),
        }

    def _rate_limit(self, request: Request) -> None:
        sandbox = self.sandbox
        limit = sandbox.config["rate_limit_per_minute"]
        if not limit:
            return
        window = int(time.time()) // 60
        with sandbox.lock:
            start, used = sandbox.rate_window
            used = used + 1 if start == window else 1
            sandbox.rate_window = (window, used)
            if used > limit:
                sandbox.faults["rate_limited"] += 1
        request.extra_headers = self._rate_headers(limit - used)
        if used > limit:
            raise ApiError(429, "TOO_MANY_REQUESTS", _too_many()["message"])

    def _count_credits(self, request: Request) -> None:
        """With `daily_credits` set: each call spends its credits of a rolling 24 hours; once half is used the
        answers say how many are left (X-API-CREDITS-REMAINING), and with none left they are 429."""
        sandbox = self.sandbox
        allowance = sandbox.config["daily_credits"]
        if not allowance:
            return
        cost, now = call_credits(request), time.time()
        with sandbox.lock:
            sandbox.credits_spent = [(when, c) for when, c in sandbox.credits_spent if when > now - 86400]
            spent = sum(c for _, c in sandbox.credits_spent)
            refused = spent + cost > allowance
            if refused:
                sandbox.faults["credits_exhausted"] += 1
            else:
                sandbox.credits_spent.append((now, cost))
                spent += cost
        if refused:
            request.extra_headers = {**getattr(request, "extra_headers", {}), "X-API-CREDITS-REMAINING": str(allowance - spent)}
            raise ApiError(429, "TOO_MANY_REQUESTS", "You have exhausted the API credits of the last 24 hours.")
        if spent * 2 >= allowance:
            request.extra_headers = {**getattr(request, "extra_headers", {}), "X-API-CREDITS-REMAINING": str(allowance - spent)}

    def _send(self, reply: Reply, extra_headers: dict) -> None:
        if hasattr(reply.body, "read"):
            self._send_file(reply, extra_headers)
            return
        headers = {**extra_headers, **reply.headers}
        if reply.status in (204, 304) or reply.body is None:
            payload = b""
        elif isinstance(reply.body, bytes):
            payload = reply.body
        else:
            payload = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers.setdefault("Content-Type", "application/json;charset=UTF-8")
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _send_file(self, reply: Reply, extra_headers: dict) -> None:
        """A file body (a Bulk Read result) goes out in chunks, with its size as Content-Length."""
        with reply.body as stream:
            self.send_response(reply.status)
            for name, value in {**extra_headers, **reply.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(os.fstat(stream.fileno()).st_size))
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(stream, self.wfile, 1 << 16)


def _too_many() -> dict:
    return {"code": "TOO_MANY_REQUESTS", "details": {},
            "message": "The maximum number of API calls allowed per minute has been exceeded", "status": "error"}


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    # Many short keep-alive connections from tests and benchmarks; don't refuse them under a burst.
    request_queue_size = 128


def make_server(sandbox: Sandbox, host: str, port: int, verbose: bool = False) -> SandboxServer:
    handler = type("SandboxHandler", (Handler,), {"sandbox": sandbox, "verbose": verbose})
    return SandboxServer((host, port), handler)
