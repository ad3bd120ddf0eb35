"""Which base URLs the client may talk to: Zoho's data centres over https, loopback only when allowed."""

import ipaddress
from urllib.parse import urlsplit

from .errors import CrmUrlNotAllowed

# Registrable domains of Zoho's API and accounts hosts in every data centre.
ZOHO_DOMAINS = (
    "zohoapis.com", "zohoapis.eu", "zohoapis.in", "zohoapis.com.au", "zohoapis.com.cn", "zohoapis.jp",
    "zohoapis.ca", "zohoapis.sa",
    "zoho.com", "zoho.eu", "zoho.in", "zoho.com.au", "zoho.com.cn", "zoho.jp", "zohocloud.ca", "zoho.sa",
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_crm_url(url: str, *, allow_loopback: bool) -> str:
    """Return the URL without a trailing slash, or raise CrmUrlNotAllowed saying why."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise CrmUrlNotAllowed(f"CRM URL {url!r} must not carry credentials.")
    if parts.query or parts.fragment:
        raise CrmUrlNotAllowed(f"CRM URL {url!r} must not have a query or fragment.")
    if _is_loopback(host):
        if not allow_loopback:
            raise CrmUrlNotAllowed(
                f"CRM URL {url!r} is a loopback address; set CRM_ALLOW_LOOPBACK=1 to use a local CRM sandbox."
            )
        if parts.scheme not in ("http", "https"):
            raise CrmUrlNotAllowed(f"CRM URL {url!r} must use http or https.")
    else:
        if parts.scheme != "https":
            raise CrmUrlNotAllowed(f"CRM URL {url!r} must use https.")
        if not any(host == d or host.endswith("." + d) for d in ZOHO_DOMAINS):
            raise CrmUrlNotAllowed(f"CRM URL {url!r} is not on a Zoho domain.")
    return url.rstrip("/")
