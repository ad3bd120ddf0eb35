"""Connect asks Zoho for the scopes the sync uses and no more."""

from urllib.parse import parse_qs, urlsplit

import requests
from django.urls import reverse

from tests.sandbox import consent

# What the product calls (integration/crm/client.py) and the scope each call needs (the README lists why).
SCOPES = [
    "ZohoCRM.modules.accounts.ALL",
    "ZohoCRM.modules.contacts.ALL",
    "ZohoCRM.modules.vendors.ALL",
    "ZohoCRM.modules.products.ALL",
    "ZohoCRM.settings.fields.ALL",
    "ZohoCRM.settings.custom_views.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.users.READ",
    "ZohoCRM.notifications.ALL",
    "ZohoCRM.bulk.read",
    "ZohoSearch.securesearch.READ",
]


def test_connect_asks_for_exactly_the_scopes_the_sync_uses(actors, sandbox):
    response = actors.client_for(actors.admin).post(reverse("integration:connect"))
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{sandbox.base_url}/oauth/v2/auth"
    asked = parse_qs(location.query)["scope"]
    assert len(asked) == 1
    assert asked[0].split(",") == SCOPES
    assert not any(scope.endswith((".modules.ALL", ".settings.ALL")) for scope in asked[0].split(","))


def test_the_scopes_asked_for_are_the_scopes_granted(actors, sandbox):
    client = actors.client_for(actors.admin)
    back = consent(client.post(reverse("integration:connect"))["Location"])
    # The sandbox grants what was asked, as Zoho does once the user accepts: the code carries it.
    code = parse_qs(urlsplit(back).query)["code"][0]
    tokens = requests.post(f"{sandbox.base_url}/oauth/v2/token", timeout=10, data={
        "grant_type": "authorization_code", "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
        "code": code}).json()
    assert tokens["scope"].split(" ") == SCOPES
