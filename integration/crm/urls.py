"""Which base URLs the client may talk to: Zoho's accounts servers for OAuth and its API hosts for the API,
each a bare https origin; loopback (the CRM sandbox) only when allowed."""

import ipaddress
from urllib.parse import urlsplit

from .errors import CrmUrlNotAllowed

# Zoho's data centres (zoho-crm-api.md 1.1): the accounts server of each, and its API host. Sandbox and
# developer organizations use `sandbox.` or `developer.` in place of `www.`.
ACCOUNTS_HOSTS = frozenset({
    "accounts.zoho.com", "accounts.zoho.eu", "accounts.zoho.in", "accounts.zoho.com.au", "accounts.zoho.com.cn",
    "accounts.zoho.jp", "accounts.zohocloud.ca", "accounts.zoho.sa",
})
API_DOMAINS = ("zohoapis.com", "zohoapis.eu", "zohoapis.in", "zohoapis.com.au", "zohoapis.com.cn", "zohoapis.jp",
               "zohoapis.ca", "zohoapis.sa")
API_HOSTS = frozenset(f"{prefix}.{domain}" for prefix in ("www", "sandbox", "developer") for domain in API_DOMAINS)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(url: str, *, hosts: frozenset[str], what: str, kind: str, allow_loopback: bool) -> str:
    url = url or ""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        raise CrmUrlNotAllowed(f"{what} {url!r} has an invalid port.") from None
    if parts.username is not None or parts.password is not None:
        raise CrmUrlNotAllowed(f"{what} {url!r} must not carry credentials.")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise CrmUrlNotAllowed(f"{what} {url!r} must not have a query or fragment.")
    loopback = _is_loopback(host)
    if loopback:
        if not allow_loopback:
            raise CrmUrlNotAllowed(
                f"{what} {url!r} is a loopback address; set CRM_ALLOW_LOOPBACK=1 to use a local CRM sandbox."
            )
        if parts.scheme not in ("http", "https"):
            raise CrmUrlNotAllowed(f"{what} {url!r} must use http or https.")
    else:
        if parts.scheme != "https":
            raise CrmUrlNotAllowed(f"{what} {url!r} must use https.")
        if host not in hosts:
            raise CrmUrlNotAllowed(f"{what} {url!r} is not {kind} of a Zoho data centre.")
        if port not in (None, 443):
            raise CrmUrlNotAllowed(f"{what} {url!r} must use the https port (443).")
    if parts.path not in ("", "/"):
        raise CrmUrlNotAllowed(f"{what} {url!r} must not have a path.")
    return url.rstrip("/") if loopback else f"https://{host}"


def check_accounts_url(url: str, *, allow_loopback: bool) -> str:
    """The URL of a Zoho accounts server (OAuth: consent, tokens, revocation) as `https://host`, or raise
    CrmUrlNotAllowed saying why."""
    return _check(url, hosts=ACCOUNTS_HOSTS, what="Zoho accounts URL", kind="an accounts server",
                  allow_loopback=allow_loopback)


def check_api_domain(url: str, *, allow_loopback: bool) -> str:
    """The URL of a Zoho CRM API host (the `api_domain` of a token response) as `https://host`, or raise
    CrmUrlNotAllowed saying why."""
    return _check(url, hosts=API_HOSTS, what="Zoho CRM API domain", kind="an API host",
                  allow_loopback=allow_loopback)
