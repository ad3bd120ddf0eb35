"""The Zoho CRM HTTP client (API v8): OAuth refresh, bounded typed retries, paging, writes in chunks.

It knows nothing of Django models: a connection's URLs and tokens go in, and two callbacks say when
new tokens were issued (to persist them) and when the tokens stopped working (to ask for
re-authorization).
"""

from __future__ import annotations

import datetime
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from .errors import (
    CrmAuthError,
    CrmBudgetReached,
    CrmError,
    CrmInvalidData,
    CrmNotFound,
    CrmPermissionError,
    CrmRateLimited,
    CrmRedirected,
    CrmRetryLater,
    CrmServerError,
    CrmUnavailable,
)
from .read_ahead import PageReader
from .urls import check_accounts_url, check_api_domain

log = logging.getLogger("integration.crm")

API = "/crm/v8"
BULK_READ = "/crm/bulk/v8/read"
WRITE_BATCH = 100
PAGE_SIZE = 200
SEARCH_CEILING = 2000  # records a search reaches by paging
MAX_FIELDS = 50


class CrmPaginationLimit(CrmInvalidData):
    """A page_token chain reached the CRM's ceiling (record 100,000): start a new chain."""


class CrmPageTokenExpired(CrmInvalidData):
    """The page_token of the next page expired (they last about a day) or is no longer known: start a new
    chain."""


@dataclass
class Page:
    records: list[dict]
    info: dict
    window_full: bool = False  # more records follow, but not in this chain: start a new one after this page

    @property
    def more(self) -> bool:
        return bool(self.info.get("more_records"))


@dataclass
class WriteResult:
    """The CRM's answer for one record of a write, in the order the records were sent."""

    ok: bool
    id: str | None = None
    action: str = ""
    code: str = ""
    message: str = ""
    details: dict = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict) -> WriteResult:
        """From one item of the CRM's answer; the id only when the write succeeded."""
        details = item.get("details") or {}
        ok = item.get("status") == "success"
        return cls(ok=ok, id=details.get("id") if ok else None, action=item.get("action") or "",
                   code=item.get("code") or "", message=item.get("message") or "", details=details)


def credits_of(method: str, path: str, params=None, json=None) -> int:
    """The API credits Zoho charges for a call: 1 for most reads, 3 for a custom view's records, 2 for the
    deleted records, 1 per 10 records written (zoho-crm-api.md 11.2)."""
    if path == BULK_READ and method == "POST":
        return 50
    if method == "GET":
        if path.endswith("/deleted"):
            return 2
        return 3 if params and params.get("cvid") and path.count("/") == 3 else 1
    records = (json or {}).get("data") if isinstance(json, dict) else None
    if isinstance(records, list):
        return max(1, -(-len(records) // 10))
    return 1


def criteria_value(text: str) -> str:
    """A value inside search criteria: Zoho escapes parentheses, commas and backslashes with a backslash."""
    return re.sub(r"([(),\\])", r"\\\1", str(text).strip())


def _error_from_body(status: int, body: dict | None, default: str) -> CrmError:
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or body.get("error") or "")
    message = str(body.get("message") or default)
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    kwargs = {"status": status, "code": code, "details": details, "body": body or None}
    text = f"{code}: {message}" if code else message
    if status == 401:
        return CrmAuthError(text, **kwargs)
    if status == 403 or code in ("NO_PERMISSION", "OAUTH_SCOPE_MISMATCH"):
        return CrmPermissionError(text, **kwargs)
    if status == 404:
        return CrmNotFound(text, **kwargs)
    if code in ("PAGINATION_LIMIT_EXCEEDED", "DISCRETE_PAGINATION_LIMIT_EXCEEDED"):
        return CrmPaginationLimit(text, **kwargs)
    if status == 429:
        return CrmRateLimited(text, **kwargs)
    if status >= 500:
        return CrmServerError(text, **kwargs)
    return CrmInvalidData(text, **kwargs)


def _json_or_none(response: requests.Response):
    if response.status_code in (204, 304) or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _redirect_error(response: requests.Response, what: str) -> CrmRedirected | None:
    """A redirect (3xx but 304, "not modified") as the error it is to this client, which follows none.
    Only the target's host is named: the rest of a Location may carry anything."""
    if not 300 <= response.status_code < 400 or response.status_code == 304:
        return None
    host = urlsplit(response.headers.get("Location") or "").hostname
    target = f" to {host}" if host else ""
    return CrmRedirected(f"{what} answered with a redirect ({response.status_code}){target}, which is not followed; "
                         "check the Zoho URLs this connection uses.", status=response.status_code)


def _retry_hint(response: requests.Response | None) -> float | None:
    """Seconds the server asks us to wait, from Retry-After or the rate-limit reset header."""
    if response is None:
        return None
    retry_after = response.headers.get("Retry-After")
    if retry_after and retry_after.strip().isdigit():
        return float(retry_after)
    reset = response.headers.get("X-RATELIMIT-RESET")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        if value > 1e12:  # epoch milliseconds
            return max(0.0, value / 1000 - time.time())
        if value > 1e9:  # epoch seconds
            return max(0.0, value - time.time())
        return max(0.0, value)
    return None


def _accounts_post(session: requests.Session, accounts_url: str, path: str, *, timeout, **request) -> requests.Response:
    """One POST to the accounts server, following no redirect (CrmRedirected); only the path is logged, never
    the parameters or body, which carry credentials."""
    try:
        response = session.post(f"{accounts_url}{path}", timeout=timeout, allow_redirects=False, **request)
    except requests.RequestException as error:
        raise CrmUnavailable(f"The Zoho accounts server did not answer: {type(error).__name__}") from None
    log.info("crm POST %s -> %s", path, response.status_code)
    redirect = _redirect_error(response, "The Zoho accounts server")
    if redirect is not None:
        raise redirect
    return response


def token_request(session: requests.Session, accounts_url: str, data: dict, *, timeout) -> tuple[requests.Response, dict]:
    """One POST to the accounts server's token endpoint (a refresh or a grant): (response, its JSON object).
    A redirect raises CrmRedirected."""
    response = _accounts_post(session, accounts_url, "/oauth/v2/token", timeout=timeout, data=data)
    body = _json_or_none(response)
    return response, body if isinstance(body, dict) else {}


def token_revoke(session: requests.Session, accounts_url: str, refresh_token: str, *, timeout) -> None:
    """Revoke a refresh token at the accounts server (`accounts_url` checked already); the access tokens
    issued from it stop working too. CrmUnavailable or CrmServerError when it could not be done now; another
    CrmError when Zoho refused. Neither the token nor the URL that carries it is logged."""
    response = _accounts_post(session, accounts_url, "/oauth/v2/token/revoke", timeout=timeout,
                              params={"token": refresh_token})
    if response.status_code >= 500:
        raise CrmServerError(f"The Zoho accounts server failed ({response.status_code}).", status=response.status_code)
    body = _json_or_none(response)
    body = body if isinstance(body, dict) else {}
    if response.status_code != 200 or body.get("status") != "success":
        reason = str(body.get("error") or f"HTTP {response.status_code}")[:100]
        raise CrmAuthError(f"Zoho did not revoke the refresh token ({reason}).", status=response.status_code,
                           code=reason)


class CrmClient:
    def __init__(
        self,
        *,
        api_domain: str,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        access_token: str = "",
        access_token_expires_at: datetime.datetime | None = None,
        allow_loopback: bool = False,
        on_tokens: Callable[[str, datetime.datetime], None] | None = None,
        on_auth_failure: Callable[[str], None] | None = None,
        retry_budget: float = 90.0,
        max_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        timeout: tuple[float, float] = (5.0, 60.0),
        session: requests.Session | None = None,
    ):
        self.api_domain = check_api_domain(api_domain, allow_loopback=allow_loopback)
        self.accounts_url = check_accounts_url(accounts_url, allow_loopback=allow_loopback)
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._access_token = access_token
        self.access_token_expires_at = access_token_expires_at
        self.on_tokens = on_tokens
        self.on_auth_failure = on_auth_failure
        self.retry_budget = retry_budget
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self.session = session or requests.Session()
        self.calls = 0  # HTTP requests to the API, retries included
        self.credits = 0  # the CRM's API credits those calls cost
        self.credit_limit: int | None = None  # no call may take `credits` past this (the connection's budget)
        self.credits_remaining: int | None = None  # X-API-CREDITS-REMAINING, when the CRM sent it
        self.credit_floor = 0  # what the CRM's reported remaining credits must not fall below (other tools' share)
        # A retry that would sleep longer than this raises CrmRetryLater instead (a worker's run gives its
        # place back rather than idle); None: sleep, as commands and tests do.
        self.wait_elsewhere_over: float | None = None
        self.retries = 0
        self.token_refreshes = 0
        self._auth_failed: CrmAuthError | None = None

    @property
    def access_token(self) -> str:
        return self._access_token

    def __repr__(self):  # never show tokens
        return f"<CrmClient {self.api_domain}>"

    # --- tokens ----------------------------------------------------------------------------------------

    def _token_is_fresh(self) -> bool:
        if not self._access_token or self.access_token_expires_at is None:
            return False
        margin = datetime.timedelta(seconds=60)
        return datetime.datetime.now(datetime.UTC) + margin < self.access_token_expires_at

    def refresh_access_token(self) -> None:
        if self._auth_failed is not None:
            # One failed refresh is final for this client: no retry storm against the accounts server.
            raise self._auth_failed
        self.token_refreshes += 1
        data = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        response, body = token_request(self.session, self.accounts_url, data, timeout=self.timeout)
        if response.status_code >= 500:
            raise CrmServerError(f"The Zoho accounts server failed ({response.status_code}).",
                                 status=response.status_code)
        token = body.get("access_token")
        if response.status_code != 200 or not token:
            reason = body.get("error") or f"HTTP {response.status_code}"
            self._auth_failed = CrmAuthError(
                f"Zoho refused to refresh the access token ({reason}). Connect the CRM again.",
                status=response.status_code, code=str(reason),
            )
            if self.on_auth_failure:
                self.on_auth_failure(str(reason))
            raise self._auth_failed
        expires_in = int(body.get("expires_in") or 3600)
        self._access_token = token
        self.access_token_expires_at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=expires_in)
        if self.on_tokens:
            self.on_tokens(token, self.access_token_expires_at)

    def revoke_refresh_token(self) -> None:
        """Revoke this client's refresh token at Zoho (see token_revoke); the client is of no use after it."""
        token_revoke(self.session, self.accounts_url, self._refresh_token, timeout=self.timeout)
        self._access_token = ""
        self.access_token_expires_at = None
        self._auth_failed = CrmAuthError("The refresh token was revoked.")

    # --- the one request loop --------------------------------------------------------------------------

    def _backoff(self, attempt: int, hint: float | None) -> float:
        delay = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        delay = delay / 2 + random.uniform(0, delay / 2)  # jitter: spread retries of parallel workers
        if hint is not None:
            delay = max(delay, min(hint, self.backoff_cap))
        return delay

    def request(
        self, method: str, path: str, *, params=None, json=None, headers=None, stream: bool = False
    ) -> requests.Response:
        """One API call with token refresh and retries; returns a response with a status below 400."""
        url = self.api_domain + path
        started = time.monotonic()
        attempt = 0
        refreshed_on_401 = False
        cost = credits_of(method, path, params, json)
        self._check_budget(cost)
        while True:
            if not self._token_is_fresh():
                self.refresh_access_token()
            attempt += 1
            request_headers = {"Authorization": f"Zoho-oauthtoken {self._access_token}", **(headers or {})}
            t0 = time.monotonic()
            response = None
            try:
                response = self.session.request(
                    method, url, params=params, json=json, headers=request_headers, timeout=self.timeout,
                    stream=stream, allow_redirects=False,
                )
                error = None
            except (requests.ConnectionError, requests.Timeout) as exc:
                error = CrmUnavailable(f"The CRM did not answer ({type(exc).__name__}).")
            self.calls += 1
            status = response.status_code if response is not None else "no answer"
            log.info("crm %s %s -> %s in %.0f ms", method, path, status, (time.monotonic() - t0) * 1000)
            if response is not None:
                self._note_credits(response)
                redirect = _redirect_error(response, "Zoho CRM")
                if redirect is not None:
                    response.close()
                    raise redirect
                if response.status_code < 400:
                    self.credits += cost
                    return response
                body = _json_or_none(response)
                error = _error_from_body(response.status_code, body, response.reason or "CRM error")
                if response.status_code == 401:
                    if error.code == "INVALID_TOKEN" and not refreshed_on_401:
                        refreshed_on_401 = True
                        self.refresh_access_token()
                        continue
                    if self.on_auth_failure:
                        self.on_auth_failure(error.code or "unauthorized")
                    raise error
                if not error.transient:
                    raise error
            delay = self._backoff(attempt, _retry_hint(response))
            if self.wait_elsewhere_over is not None and delay > self.wait_elsewhere_over:
                raise CrmRetryLater(delay, error)
            if attempt >= self.max_attempts or time.monotonic() - started + delay > self.retry_budget:
                raise type(error)(
                    f"{error} Gave up after {attempt} attempts in {time.monotonic() - started:.1f}s.",
                    status=error.status, code=error.code, details=error.details,
                )
            self.retries += 1
            time.sleep(delay)

    def _check_budget(self, cost: int) -> None:
        """Refuse a call that would spend past the run's credit limit, or take the CRM's reported remaining
        credits below what is kept for other tools."""
        if self.credit_limit is not None and self.credits + cost > self.credit_limit:
            raise CrmBudgetReached(f"This call would cost {cost} API credit{'s' if cost != 1 else ''} past the "
                                   f"budget ({self.credits} spent of {self.credit_limit} left).")
        if self.credits_remaining is not None and self.credits_remaining - cost < self.credit_floor:
            raise CrmBudgetReached(f"Zoho CRM has {self.credits_remaining} API credits left today; "
                                   f"{self.credit_floor} are kept for other tools.")

    def _note_credits(self, response: requests.Response) -> None:
        """X-API-CREDITS-REMAINING, when sent; a 429 with none left is the day's credits gone, not a burst."""
        remaining = response.headers.get("X-API-CREDITS-REMAINING")
        if remaining and remaining.strip().isdigit():
            self.credits_remaining = int(remaining)
            if response.status_code == 429 and self.credits_remaining == 0:
                raise CrmBudgetReached("Zoho CRM says the API credits of the last 24 hours are used up.")

    def get_json(self, path: str, *, params=None, headers=None):
        return _json_or_none(self.request("GET", path, params=params, headers=headers))

    # --- records ---------------------------------------------------------------------------------------

    def iter_pages(
        self,
        module: str,
        *,
        fields: Iterable[str],
        cvid: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        modified_since: datetime.datetime | None = None,
        per_page: int = PAGE_SIZE,
        window: int | None = None,
        page_token: str | None = None,
        seen: int = 0,
    ) -> Iterator[Page]:
        """Pages of a module's records following next_page_token. A 304 or 204 yields nothing. With
        `window` (the CRM's page_token ceiling), the chain ends before the page that would cross it,
        its last page marked `window_full`. With `page_token` (and the `seen` records before it), a
        chain read earlier goes on."""
        field_list = list(dict.fromkeys(fields))
        if not field_list or len(field_list) > MAX_FIELDS:
            raise ValueError(f"Ask for 1 to {MAX_FIELDS} fields, not {len(field_list)}.")
        params = {"fields": ",".join(field_list), "per_page": per_page}
        if cvid:
            params["cvid"] = cvid
        if sort_by:
            params["sort_by"] = sort_by
        if sort_order:
            params["sort_order"] = sort_order
        headers = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = modified_since.isoformat(timespec="seconds")
        if page_token:
            params["page_token"] = page_token
        while True:
            body = self._listing_page(module, params, headers)
            if not body:
                return
            page = Page(records=body.get("data") or [], info=body.get("info") or {})
            seen += len(page.records)
            page.window_full = bool(window and page.more and seen + per_page > window)
            yield page
            token = page.info.get("next_page_token")
            if not page.more or not token or page.window_full:
                return
            params = {**params, "page_token": token}

    def _listing_page(self, module: str, params: dict, headers: dict):
        try:
            return self.get_json(f"{API}/{module}", params=params, headers=headers)
        except CrmInvalidData as error:
            token_refused = error.code in ("EXPIRED_VALUE", "INVALID_DATA") and (
                (error.details or {}).get("param_name") == "page_token")
            if "page_token" in params and token_refused:
                raise CrmPageTokenExpired(str(error), status=error.status, code=error.code,
                                          details=error.details) from None
            raise

    def read_ahead(self, pages: Iterator[Page]) -> Iterator[Page]:
        """`pages` one page ahead, in a thread: while the caller writes page n, page n+1 is on its way
        (the CRM's time and ours overlap instead of adding up). Only HTTP happens in the thread: the
        token callbacks, which write to the database, run in the caller's thread before it gets the
        next page, and an error reaches the caller when it gets to it. Closing the iterator early (a
        break, an exception) stops the thread after its request in flight."""
        reader = PageReader(pages)
        callbacks = (self.on_tokens, self.on_auth_failure)
        self.on_tokens, self.on_auth_failure = reader.deferring(callbacks[0]), reader.deferring(callbacks[1])
        reader.start()
        try:
            while True:
                kind, value = reader.handoff.get()
                reader.run_deferred()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            reader.stop()
            reader.run_deferred()
            self.on_tokens, self.on_auth_failure = callbacks

    def get_record(self, module: str, record_id: str, *, fields: Iterable[str] = ()) -> dict:
        params = {"fields": ",".join(fields)} if fields else None
        try:
            body = self.get_json(f"{API}/{module}/{record_id}", params=params)
        except CrmInvalidData as error:
            if error.code == "INVALID_DATA":
                raise CrmNotFound(f"{module} record {record_id} does not exist.", status=error.status,
                                  code=error.code) from None
            raise
        records = (body or {}).get("data") or []
        if not records:
            raise CrmNotFound(f"{module} record {record_id} does not exist.")
        return records[0]

    def get_records(self, module: str, ids: list[str], *, fields: Iterable[str]) -> list[dict]:
        """The records with these ids (at most 100 in one call); those that no longer exist are left out."""
        if not ids:
            return []
        if len(ids) > WRITE_BATCH:
            raise ValueError(f"Ask for at most {WRITE_BATCH} records by id, not {len(ids)}.")
        body = self.get_json(f"{API}/{module}", params={"ids": ",".join(ids), "fields": ",".join(dict.fromkeys(fields))})
        return (body or {}).get("data") or []

    def _numbered_pages(
        self, path: str, params: dict, *, key: str = "data", headers=None, max_pages: int | None = None
    ) -> Iterator[Page]:
        """Pages of a listing paged by number, the records under `key`, until the CRM says there are no
        more or `max_pages` were read. A 304 or 204 ends it."""
        number = 1
        while max_pages is None or number <= max_pages:
            body = self.get_json(path, params={**params, "page": number}, headers=headers)
            if not body:
                return
            page = Page(records=body.get(key) or [], info=body.get("info") or {})
            yield page
            if not page.more:
                return
            number += 1

    def iter_deleted(
        self, module: str, *, since: datetime.datetime | None = None, kind: str = "all"
    ) -> Iterator[dict]:
        headers = {"If-Modified-Since": since.isoformat(timespec="seconds")} if since else {}
        params = {"type": kind, "per_page": PAGE_SIZE}
        for page in self._numbered_pages(f"{API}/{module}/deleted", params, headers=headers):
            yield from page.records

    def search(
        self,
        module: str,
        *,
        criteria: str | None = None,
        word: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        fields: Iterable[str] = (),
        per_page: int = PAGE_SIZE,
        max_pages: int = 10,
    ) -> list[dict]:
        """Records matching exactly one of criteria, word, email or phone (the CRM caps search at 2,000)."""
        given = {k: v for k, v in {"criteria": criteria, "word": word, "email": email, "phone": phone}.items() if v}
        if len(given) != 1:
            raise ValueError("Search by exactly one of criteria, word, email or phone.")
        found: list[dict] = []
        for page in self.iter_search_pages(module, fields=fields, per_page=per_page, max_pages=max_pages, **given):
            found.extend(page.records)
        return found

    def iter_search_pages(
        self, module: str, *, fields: Iterable[str] = (), cvid: str | None = None, per_page: int = PAGE_SIZE,
        max_pages: int = SEARCH_CEILING // PAGE_SIZE, **given: str,
    ) -> Iterator[Page]:
        """Pages of a search (`criteria=...` or another mode), within a custom view when `cvid` is given.
        Paging past the CRM's search ceiling raises CrmPaginationLimit."""
        params = {**given, "per_page": per_page}
        if fields:
            params["fields"] = ",".join(fields)
        if cvid:
            params["cvid"] = cvid
        yield from self._numbered_pages(f"{API}/{module}/search", params, max_pages=max_pages)

    # --- Bulk Read ---------------------------------------------------------------------------------------

    def bulk_read_create(self, module: str, *, fields: list[str], criteria: dict | None = None,
                         cvid: str | None = None, page: int = 1) -> dict:
        """Start a Bulk Read job (50 credits); returns its details (id, state)."""
        query: dict = {"module": {"api_name": module}, "fields": list(fields), "page": page}
        if criteria:
            query["criteria"] = criteria
        if cvid:
            query["cvid"] = str(cvid)
        body = _json_or_none(self.request("POST", BULK_READ, json={"query": query, "file_type": "csv"})) or {}
        items = body.get("data") or [{}]
        result = WriteResult.from_item(items[0])
        if not result.ok or not result.details.get("id"):
            raise CrmInvalidData(f"Zoho CRM did not start the Bulk Read job: {result.code} {result.message}".rstrip(),
                                 code=result.code, details=result.details)
        return result.details

    def bulk_read_job(self, job_id: str) -> dict:
        """A Bulk Read job's details: state, and once COMPLETED its result (count, more_records, download_url)."""
        body = self.get_json(f"{BULK_READ}/{job_id}") or {}
        return (body.get("data") or [{}])[0]

    def bulk_read_download(self, job_id: str, into) -> int:
        """The job's zip, streamed into the open binary file `into`; returns its size in bytes."""
        response = self.request("GET", f"{BULK_READ}/{job_id}/result", stream=True)
        size = 0
        with closing(response):
            for chunk in response.iter_content(chunk_size=1 << 16):
                into.write(chunk)
                size += len(chunk)
        return size

    def count(self, module: str, *, criteria: str | None = None, cvid: str | None = None) -> int:
        """How many records a listing (or a search by `criteria`), within a view when given, would return."""
        params = {k: v for k, v in {"criteria": criteria, "cvid": cvid}.items() if v}
        body = self.get_json(f"{API}/{module}/actions/count", params=params or None) or {}
        return int(body.get("count") or 0)

    # --- writes ----------------------------------------------------------------------------------------

    def _write(self, method: str, path: str, records: list[dict], extra: dict) -> list[WriteResult]:
        results: list[WriteResult] = []
        for start in range(0, len(records), WRITE_BATCH):
            chunk = records[start : start + WRITE_BATCH]
            try:
                response = self.request(method, path, json={"data": chunk, **extra})
                body = _json_or_none(response) or {}
            except CrmInvalidData as error:
                # "All records failed" comes back as 400 with per-record items; a request-level error
                # (bad module, malformed body) has no items and fails the whole call.
                body = error.body or {}
                if not isinstance(body.get("data"), list):
                    raise
            items = body.get("data") or []
            if len(items) != len(chunk):
                raise CrmInvalidData(f"The CRM answered {len(items)} results for {len(chunk)} records.")
            results.extend(WriteResult.from_item(item) for item in items)
        return results

    def upsert(
        self, module: str, records: list[dict], *, duplicate_check_fields: Iterable[str], trigger: list | None = None
    ) -> list[WriteResult]:
        extra = {"duplicate_check_fields": list(duplicate_check_fields), "trigger": trigger or []}
        return self._write("POST", f"{API}/{module}/upsert", records, extra)

    def update(self, module: str, records: list[dict], *, trigger: list | None = None) -> list[WriteResult]:
        return self._write("PUT", f"{API}/{module}", records, {"trigger": trigger or []})

    # --- metadata, org, users ------------------------------------------------------------------------------

    def fields(self, module: str) -> list[dict]:
        return (self.get_json(f"{API}/settings/fields", params={"module": module}) or {}).get("fields") or []

    def create_field(self, module: str, definition: dict) -> WriteResult:
        response = self.request("POST", f"{API}/settings/fields", params={"module": module},
                                json={"fields": [definition]})
        items = (_json_or_none(response) or {}).get("fields") or []
        return WriteResult.from_item(items[0] if items else {})

    def ensure_field(self, module: str, definition: dict, *, fields: list[dict]) -> None:
        """Create the field `definition["api_name"]` in `module` unless `fields`, the module's field metadata,
        has it. A refusal is fine when the field is there after all (another worker made it in the
        meantime); otherwise CrmInvalidData says the CRM's reason."""
        api_name = definition["api_name"]
        if any(f.get("api_name") == api_name for f in fields):
            return
        result = self.create_field(module, {k: v for k, v in definition.items() if k != "api_name"})
        if result.ok or any(f.get("api_name") == api_name for f in self.fields(module)):
            return
        raise CrmInvalidData(f"The CRM refused to create the field {definition['field_label']} in {module}: "
                             f"{result.code} {result.message}".rstrip() + ".")

    # --- notifications (the Watch API) --------------------------------------------------------------------

    def watch(self, channel: dict, *, method: str = "POST") -> WriteResult:
        """Subscribe (POST), replace (PUT) or update/renew (PATCH) one notification channel."""
        response = self.request(method, f"{API}/actions/watch", json={"watch": [channel]})
        items = (_json_or_none(response) or {}).get("watch") or []
        return WriteResult.from_item(items[0] if items else {})

    def watch_remove(self, channel_ids: list[str]) -> list[WriteResult]:
        response = self.request("DELETE", f"{API}/actions/watch", params={"channel_ids": ",".join(channel_ids)})
        return [WriteResult.from_item(item) for item in (_json_or_none(response) or {}).get("watch") or []]

    def watch_channels(self, channel_id: str | None = None) -> list[dict]:
        """The notification channels the CRM has (of this id); [] when none."""
        params = {"channel_id": channel_id} if channel_id else None
        return (self.get_json(f"{API}/actions/watch", params=params) or {}).get("watch") or []

    def custom_views(self, module: str) -> list[dict]:
        body = self.get_json(f"{API}/settings/custom_views", params={"module": module}) or {}
        return body.get("custom_views") or []

    def org(self) -> dict:
        orgs = (self.get_json(f"{API}/org") or {}).get("org") or []
        if not orgs:
            raise CrmInvalidData("The CRM returned no organization.")
        return orgs[0]

    def users(self, kind: str = "ActiveUsers") -> list[dict]:
        pages = self._numbered_pages(f"{API}/users", {"type": kind, "per_page": PAGE_SIZE}, key="users")
        return [user for page in pages for user in page.records]


def exchange_grant_code(
    *, accounts_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str,
    allow_loopback: bool = False, session: requests.Session | None = None,
) -> dict:
    """Trade an authorization code for tokens. Returns access_token, refresh_token, api_domain, expires_in."""
    accounts_url = check_accounts_url(accounts_url, allow_loopback=allow_loopback)
    response, body = token_request(
        session or requests.Session(), accounts_url,
        {"grant_type": "authorization_code", "client_id": client_id, "client_secret": client_secret,
         "redirect_uri": redirect_uri, "code": code},
        timeout=(5, 30),
    )
    if response.status_code != 200 or not body.get("access_token") or not body.get("refresh_token"):
        reason = body.get("error") or f"HTTP {response.status_code}"
        raise CrmAuthError(f"Zoho did not accept the authorization ({reason}). Try connecting again.", code=str(reason))
    # Zoho says where this organization's API lives: it must be one of Zoho's API hosts.
    body["api_domain"] = check_api_domain(str(body.get("api_domain") or ""), allow_loopback=allow_loopback)
    return body
