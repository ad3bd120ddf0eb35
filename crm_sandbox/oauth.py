"""Zoho's accounts server, reduced to one client: consent page, token endpoint, revoke, token checks.

Token endpoint errors are HTTP 200 with `{"error": ...}`, as Zoho answers them. Grants live in the
SQLite file, so a restarted sandbox keeps the refresh and access tokens that clients have stored.
"""

import html
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .app import Reply, Sandbox
from .errors import ApiError
from .schema import CURRENT_USER

CODE_LIFETIME = 180
DEFAULT_SCOPE = "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.org.READ ZohoCRM.users.READ"


def _params(request) -> dict:
    """Form body and query string both count; the body wins."""
    params = dict(request.query)
    content_type = request.headers.get("Content-Type", "")
    if request.body and "json" not in content_type:
        try:
            params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            pass
    return params


def _html(status: int, text: str) -> Reply:
    return Reply(status, text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def consent_page(sandbox: Sandbox, request) -> Reply:
    query = request.query
    if query.get("client_id") != sandbox.client_id:
        return _html(400, "<h1>Invalid client</h1><p>The client_id is not known to this sandbox.</p>")
    if not query.get("redirect_uri") or query.get("response_type", "code") != "code":
        return _html(400, "<h1>Invalid request</h1><p>redirect_uri and response_type=code are required.</p>")
    scopes = [scope for scope in query.get("scope", "").replace(" ", ",").split(",") if scope]
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
        for key, value in query.items()
    )
    items = "".join(f"<li><code>{html.escape(scope)}</code></li>" for scope in scopes) or "<li>(no scope)</li>"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CRM sandbox: authorize</title>
<style>body{{font-family:sans-serif;max-width:36rem;margin:3rem auto}}button{{padding:.5rem 1.2rem}}</style></head>
<body><h1>Authorize access</h1>
<p>An application wants to access the sandbox CRM org as <strong>{html.escape(CURRENT_USER['full_name'])}</strong>
with these scopes:</p><ul>{items}</ul>
<form method="post" action="/oauth/v2/auth">{hidden}
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="reject">Reject</button></form></body></html>"""
    return _html(200, page)


def consent_decision(sandbox: Sandbox, request) -> Reply:
    params = _params(request)
    redirect_uri = params.get("redirect_uri", "")
    if params.get("client_id") != sandbox.client_id or not redirect_uri:
        return _html(400, "<h1>Invalid request</h1>")
    extra = {"state": params["state"]} if "state" in params else {}
    if params.get("decision") != "accept":
        return _redirect(redirect_uri, {"error": "access_denied", **extra})
    code = _oauth_token(sandbox)
    with sandbox.store.transaction() as conn:
        conn.execute(
            "INSERT INTO grants(token, kind, expires_at, redirect_uri, scope) VALUES (?, 'code', ?, ?, ?)",
            (code, sandbox.now() + CODE_LIFETIME, redirect_uri, params.get("scope", "").replace(",", " ")),
        )
    return _redirect(redirect_uri, {"code": code, "location": "us", "accounts-server": request.base_url, **extra})


def _redirect(uri: str, params: dict) -> Reply:
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return Reply(302, b"", {"Location": urlunsplit(parts._replace(query=query)), "Content-Type": "text/plain"})


def token(sandbox: Sandbox, request) -> Reply:
    params = _params(request)
    if params.get("client_id") != sandbox.client_id or params.get("client_secret") != sandbox.client_secret:
        return Reply(200, {"error": "invalid_client"})
    grant_type = params.get("grant_type")
    now = sandbox.now()
    if grant_type == "authorization_code":
        code = params.get("code", "")
        with sandbox.store.transaction() as conn:
            row = conn.execute("SELECT * FROM grants WHERE token = ? AND kind = 'code'", (code,)).fetchone()
            usable = row is not None and not row["revoked"] and row["expires_at"] > now
            if usable and params.get("redirect_uri", row["redirect_uri"]) != row["redirect_uri"]:
                usable = False
            if not usable:
                return Reply(200, {"error": "invalid_code"})
            conn.execute("UPDATE grants SET revoked = 1 WHERE token = ?", (code,))
            scope = row["scope"] or DEFAULT_SCOPE
            refresh = _grant_refresh(sandbox, conn, scope)
        body = _access(sandbox, request, scope, refresh)
        body["refresh_token"] = refresh
        return Reply(200, body)
    if grant_type == "refresh_token":
        row = sandbox.store.query("SELECT * FROM grants WHERE token = ? AND kind = 'refresh' AND revoked = 0",
                                  (params.get("refresh_token", ""),))
        if not row:
            return Reply(200, {"error": "invalid_code"})
        return Reply(200, _access(sandbox, request, row[0]["scope"] or DEFAULT_SCOPE, row[0]["token"]))
    return Reply(200, {"error": "unsupported_grant_type"})


def _access(sandbox: Sandbox, request, scope: str, refresh: str) -> dict:
    """A new access token issued from the refresh token `refresh` (it dies when that is revoked)."""
    access = _oauth_token(sandbox)
    lifetime = sandbox.config["access_token_lifetime"]
    with sandbox.store.transaction() as conn:
        conn.execute("INSERT INTO grants(token, kind, expires_at, refresh) VALUES (?, 'access', ?, ?)",
                     (access, sandbox.now() + lifetime, refresh))
    # api_domain is this sandbox, so clients that follow it (the official SDK does) stay here.
    return {"access_token": access, "scope": scope, "api_domain": request.base_url, "token_type": "Bearer",
            "expires_in": lifetime}


def revoke(sandbox: Sandbox, request) -> Reply:
    """A revoked refresh token gives no more access tokens, and those it gave stop working, as at Zoho."""
    token = _params(request).get("token", "")
    with sandbox.store.transaction() as conn:
        conn.execute("UPDATE grants SET revoked = 1 WHERE token = ? AND kind = 'refresh'", (token,))
        conn.execute("UPDATE grants SET revoked = 1 WHERE refresh = ? AND kind = 'access'", (token,))
    return Reply(200, {"status": "success"})


def issue_refresh_token(sandbox: Sandbox, scope: str = DEFAULT_SCOPE) -> str:
    """A refresh token of its own, as a consent and a code grant give one (for a client that may revoke it
    without taking the configured one from everybody else)."""
    with sandbox.store.transaction() as conn:
        return _grant_refresh(sandbox, conn, scope)


def _grant_refresh(sandbox: Sandbox, conn, scope: str) -> str:
    refresh = _oauth_token(sandbox)
    conn.execute("INSERT INTO grants(token, kind, scope) VALUES (?, 'refresh', ?)", (refresh, scope))
    return refresh


def _oauth_token(sandbox: Sandbox) -> str:
    """A token shaped as Zoho's (1000.<hex>.<hex>): a grant code, a refresh or an access token."""
    return f"1000.{sandbox.new_token()[:32]}.{sandbox.new_token()[:32]}"


def expire_access_tokens(sandbox: Sandbox) -> int:
    now = sandbox.now()
    with sandbox.store.transaction() as conn:
        cursor = conn.execute("UPDATE grants SET expires_at = ? WHERE kind = 'access' AND expires_at >= ?",
                              (now - 1, now))
        return cursor.rowcount


def check_access(sandbox: Sandbox, request) -> None:
    header = request.headers.get("Authorization")
    if not header:
        raise ApiError(401, "AUTHENTICATION_FAILURE", "Authentication failed")
    scheme, _, value = header.strip().partition(" ")
    if scheme != "Zoho-oauthtoken" or not value.strip():
        raise ApiError(401, "AUTHENTICATION_FAILURE", "Authentication failed")
    row = sandbox.store.query("SELECT expires_at, revoked FROM grants WHERE token = ? AND kind = 'access'",
                              (value.strip(),))
    if not row or row[0]["revoked"] or row[0]["expires_at"] <= sandbox.now():
        raise ApiError(401, "INVALID_TOKEN", "invalid oauth token")
