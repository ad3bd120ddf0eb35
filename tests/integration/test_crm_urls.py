"""The hosts the integration talks to: Zoho's accounts servers for OAuth, its API hosts for the API, each a
bare https origin; loopback (the sandbox) only when allowed. And each way in (Connect, the OAuth callback,
the client, the connection) checks the right one."""

import pytest
from django.urls import reverse

from integration import services
from integration.crm.client import CrmClient, exchange_grant_code
from integration.crm.errors import CrmUrlNotAllowed
from integration.crm.urls import check_accounts_url, check_api_domain
from integration.models import CrmConnection
from tests.http_stub import StubServer
from tests.sandbox import sandbox_client

ACCOUNTS = ["https://accounts.zoho.com", "https://accounts.zoho.eu", "https://accounts.zoho.in",
            "https://accounts.zoho.com.au", "https://accounts.zoho.com.cn", "https://accounts.zoho.jp",
            "https://accounts.zohocloud.ca", "https://accounts.zoho.sa"]
APIS = ["https://www.zohoapis.com", "https://www.zohoapis.eu", "https://www.zohoapis.in",
        "https://www.zohoapis.com.au", "https://www.zohoapis.com.cn", "https://www.zohoapis.jp",
        "https://www.zohoapis.ca", "https://www.zohoapis.sa", "https://sandbox.zohoapis.com",
        "https://developer.zohoapis.eu"]

# Refused as either kind, whatever the loopback setting.
NEITHER = [
    "https://creatorapp.zoho.com/some/path",
    "https://creatorapp.zoho.com",
    "https://crm.zoho.com",
    "https://zoho.com",
    "https://content.zohoapis.com",  # file uploads, not the API
    "https://zohoapis.com",
    "https://www.zohoapis.com.evil.example",
    "https://accounts.zoho.com.evil.example",
    "https://evil.accounts.zoho.com",
    "https://evilzohoapis.com",
    "https://www.zohoapis.com./",
    "https://crm.example.com",
    "",
]


def refused(check, url: str, allow_loopback: bool = False) -> str:
    with pytest.raises(CrmUrlNotAllowed) as error:
        check(url, allow_loopback=allow_loopback)
    return str(error.value)


@pytest.mark.parametrize("url", ACCOUNTS)
def test_every_data_centres_accounts_server_is_an_accounts_url_and_no_api_domain(url):
    assert check_accounts_url(url, allow_loopback=False) == url
    assert check_accounts_url(url + "/", allow_loopback=False) == url
    assert "not an API host" in refused(check_api_domain, url)


@pytest.mark.parametrize("url", APIS)
def test_every_data_centres_api_host_is_an_api_domain_and_no_accounts_url(url):
    assert check_api_domain(url, allow_loopback=False) == url
    assert check_api_domain(url + "/", allow_loopback=False) == url
    assert "not an accounts server" in refused(check_accounts_url, url)


def test_the_https_port_and_upper_case_are_the_same_origin():
    assert check_accounts_url("https://ACCOUNTS.Zoho.EU:443/", allow_loopback=False) == "https://accounts.zoho.eu"
    assert check_api_domain("https://www.zohoapis.com:443", allow_loopback=False) == "https://www.zohoapis.com"


@pytest.mark.parametrize("url", NEITHER)
@pytest.mark.parametrize("check", [check_accounts_url, check_api_domain])
def test_other_hosts_are_refused(check, url):
    refused(check, url, allow_loopback=True)


@pytest.mark.parametrize(
    "tail,why",
    [
        ("/oauth/v2/token", "must not have a path"),
        ("/some/path", "must not have a path"),
        (":8443", "https port"),
        (":444/", "https port"),
        (":notaport", "invalid port"),
        ("?next=https://evil.example", "query or fragment"),
        ("/?", "query or fragment"),
        ("#top", "query or fragment"),
    ],
)
def test_a_zoho_host_with_a_path_port_query_or_fragment_is_refused(tail, why):
    assert why in refused(check_accounts_url, "https://accounts.zoho.com" + tail)
    assert why in refused(check_api_domain, "https://www.zohoapis.com" + tail)


@pytest.mark.parametrize("url", ["http://accounts.zoho.com", "ftp://accounts.zoho.com", "//accounts.zoho.com",
                                 "accounts.zoho.com"])
def test_only_https_reaches_zoho(url):
    refused(check_accounts_url, url)


@pytest.mark.parametrize("userinfo", ["user:pw@", "user@", ":pw@"])
def test_credentials_in_the_url_are_refused(userinfo):
    assert "credentials" in refused(check_accounts_url, f"https://{userinfo}accounts.zoho.com")
    assert "credentials" in refused(check_api_domain, f"https://{userinfo}www.zohoapis.com")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost:8765/", "https://127.0.0.1:8765",
                                 "http://[::1]:8765"])
def test_loopback_is_accepted_for_both_only_when_allowed(url):
    for check in (check_accounts_url, check_api_domain):
        assert check(url, allow_loopback=True) == url.rstrip("/")
        assert "CRM_ALLOW_LOOPBACK" in refused(check, url)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8765", "http://127.0.0.1:8765/crm", "https://10.0.0.5"])
def test_loopback_allowed_is_still_only_a_bare_http_origin(url):
    refused(check_api_domain, url, allow_loopback=True)


def test_the_client_checks_each_address_for_its_own_kind():
    with pytest.raises(CrmUrlNotAllowed, match="API domain"):
        CrmClient(api_domain="https://accounts.zoho.com", accounts_url="https://www.zohoapis.com", client_id="x",
                  client_secret="y", refresh_token="z")
    with pytest.raises(CrmUrlNotAllowed, match="accounts URL"):
        CrmClient(api_domain="https://www.zohoapis.com", accounts_url="https://creatorapp.zoho.com/some/path",
                  client_id="x", client_secret="y", refresh_token="z")
    client = CrmClient(api_domain="https://www.zohoapis.eu/", accounts_url="https://accounts.zoho.eu",
                       client_id="x", client_secret="y", refresh_token="z")
    assert (client.api_domain, client.accounts_url) == ("https://www.zohoapis.eu", "https://accounts.zoho.eu")


@pytest.mark.parametrize("accounts_url", ["https://www.zohoapis.com", "https://creatorapp.zoho.com/some/path"])
def test_connect_sends_the_admin_only_to_a_zoho_accounts_server(actors, settings, accounts_url):
    settings.ZOHO_ACCOUNTS_URL = accounts_url
    settings.ZOHO_CLIENT_ID = "1000.CLIENT"
    response = actors.client_for(actors.admin).post(reverse("integration:connect"), follow=True)
    assert response.redirect_chain == [(reverse("integration:zoho_apps"), 302)]
    assert "is not an accounts server of a Zoho data centre" in response.content.decode()


@pytest.mark.parametrize("server", ["https://www.zohoapis.com", "https://creatorapp.zoho.com/some/path",
                                    "https://accounts.zoho.com/oauth"])
def test_the_callback_exchanges_the_code_only_at_a_zoho_accounts_server(actors, sandbox, server):
    client = actors.client_for(actors.admin)
    client.post(reverse("integration:connect"))
    state = client.session["zoho_pending_authorization"]["state"]
    sandbox.reset_calls()
    response = client.get(reverse("integration:oauth_callback"),
                          {"code": "1000.x.y", "state": state, "accounts-server": server}, follow=True)
    assert response.redirect_chain == [(reverse("integration:zoho_apps"), 302)]
    assert "Zoho accounts URL" in response.content.decode()
    assert not CrmConnection.objects.exists()
    assert not sandbox.calls()["calls"]


@pytest.mark.parametrize("api_domain", ["https://accounts.zoho.com", "https://creatorapp.zoho.com/some/path",
                                        "https://attacker.example"])
def test_a_token_response_naming_a_foreign_api_domain_is_refused(api_domain):
    tokens = {"access_token": "1000.a.b", "refresh_token": "1000.c.d", "api_domain": api_domain,
              "expires_in": 3600}
    with StubServer(body=tokens) as zoho, pytest.raises(CrmUrlNotAllowed, match="API domain"):
        exchange_grant_code(accounts_url=zoho.url, client_id="x", client_secret="y", code="1000.e.f",
                            redirect_uri="https://erp.example/cb", allow_loopback=True)


def test_the_token_responses_api_domain_is_kept_as_its_bare_origin():
    tokens = {"access_token": "1000.a.b", "refresh_token": "1000.c.d", "api_domain": "http://127.0.0.1:9/",
              "expires_in": 3600}
    with StubServer(body=tokens) as zoho:
        body = exchange_grant_code(accounts_url=zoho.url, client_id="x", client_secret="y", code="1000.e.f",
                                   redirect_uri="https://erp.example/cb", allow_loopback=True)
    assert body["api_domain"] == "http://127.0.0.1:9"


def test_a_connection_is_made_only_with_zoho_addresses_of_the_right_kind(actors, sandbox, settings):
    crm = sandbox_client(sandbox)
    arguments = {"organization": actors.organization, "user": None, "crm_org": crm.org(),
                 "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
                 "refresh_token": sandbox.issue_refresh_token()}
    settings.CRM_ALLOW_LOOPBACK = False
    with pytest.raises(CrmUrlNotAllowed, match="CRM_ALLOW_LOOPBACK"):
        services.connection_create(api_domain=sandbox.base_url, accounts_url=sandbox.base_url, **arguments)
    with pytest.raises(CrmUrlNotAllowed, match="API domain"):
        services.connection_create(api_domain="https://creatorapp.zoho.com/some/path",
                                   accounts_url="https://accounts.zoho.com", **arguments)
    with pytest.raises(CrmUrlNotAllowed, match="accounts URL"):
        services.connection_create(api_domain="https://www.zohoapis.com", accounts_url="https://www.zohoapis.com",
                                   **arguments)
    assert not CrmConnection.objects.exists()
    connection = services.connection_create(api_domain="https://www.zohoapis.eu/",
                                            accounts_url="https://accounts.zoho.eu:443", **arguments)
    assert (connection.api_domain, connection.accounts_url) == ("https://www.zohoapis.eu", "https://accounts.zoho.eu")
