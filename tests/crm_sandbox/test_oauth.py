import time
from urllib.parse import parse_qs, urlsplit

import requests

from .conftest import assert_error


def _token(sandbox, **form) -> dict:
    form = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, **form}
    response = requests.post(f"{sandbox.base_url}/oauth/v2/token", data=form, timeout=10)
    assert response.status_code == 200
    return response.json()


def _consent(sandbox, decision: str = "accept") -> dict:
    query = {"scope": "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL", "client_id": sandbox.client_id,
             "response_type": "code", "access_type": "offline", "redirect_uri": "http://erp.test/callback",
             "state": "xyz-123"}
    page = requests.get(f"{sandbox.base_url}/oauth/v2/auth", params=query, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "ZohoCRM.settings.ALL" in page.text and "Accept" in page.text
    answer = requests.post(f"{sandbox.base_url}/oauth/v2/auth", data={**query, "decision": decision},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://erp.test/callback"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def test_code_flow_gives_tokens_that_work(crm_sandbox):
    callback = _consent(crm_sandbox)
    assert callback["state"] == "xyz-123" and callback["location"] == "us"
    assert callback["accounts-server"] == crm_sandbox.base_url
    tokens = _token(crm_sandbox, grant_type="authorization_code", code=callback["code"],
                    redirect_uri="http://erp.test/callback")
    assert tokens["api_domain"] == crm_sandbox.base_url and tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600 and "expires_in_sec" not in tokens
    assert tokens["scope"] == "ZohoCRM.modules.ALL ZohoCRM.settings.ALL"
    org = requests.get(f"{crm_sandbox.base_url}/crm/v8/org", timeout=10,
                       headers={"Authorization": f"Zoho-oauthtoken {tokens['access_token']}"})
    assert org.status_code == 200
    refreshed = _token(crm_sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed["access_token"] != tokens["access_token"] and "refresh_token" not in refreshed


def test_a_code_works_once(crm_sandbox):
    code = _consent(crm_sandbox)["code"]
    assert "access_token" in _token(crm_sandbox, grant_type="authorization_code", code=code)
    assert _token(crm_sandbox, grant_type="authorization_code", code=code) == {"error": "invalid_code"}


def test_rejecting_consent_redirects_with_access_denied(crm_sandbox):
    assert _consent(crm_sandbox, "reject") == {"error": "access_denied", "state": "xyz-123"}


def test_wrong_client_or_token_errors_are_http_200(crm_sandbox):
    assert _token(crm_sandbox, grant_type="refresh_token", refresh_token="1000.nope") == {"error": "invalid_code"}
    wrong = requests.post(f"{crm_sandbox.base_url}/oauth/v2/token", timeout=10, data={
        "grant_type": "refresh_token", "client_id": crm_sandbox.client_id, "client_secret": "wrong",
        "refresh_token": crm_sandbox.refresh_token})
    assert (wrong.status_code, wrong.json()) == (200, {"error": "invalid_client"})


def test_token_parameters_in_the_query_string(crm_sandbox):
    response = requests.post(f"{crm_sandbox.base_url}/oauth/v2/token", timeout=10, params={
        "grant_type": "refresh_token", "client_id": crm_sandbox.client_id,
        "client_secret": crm_sandbox.client_secret, "refresh_token": crm_sandbox.refresh_token})
    assert "access_token" in response.json()


def test_revoked_refresh_token_stops_working(crm_sandbox):
    code = _consent(crm_sandbox)["code"]
    refresh = _token(crm_sandbox, grant_type="authorization_code", code=code)["refresh_token"]
    revoked = requests.post(f"{crm_sandbox.base_url}/oauth/v2/token/revoke", params={"token": refresh}, timeout=10)
    assert revoked.json() == {"status": "success"}
    assert _token(crm_sandbox, grant_type="refresh_token", refresh_token=refresh) == {"error": "invalid_code"}


def test_missing_or_foreign_authorization_is_authentication_failure(crm_sandbox):
    url = f"{crm_sandbox.base_url}/crm/v8/org"
    assert_error(requests.get(url, timeout=10), 401, "AUTHENTICATION_FAILURE")
    token = crm_sandbox.access_token()
    assert_error(requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10), 401,
                 "AUTHENTICATION_FAILURE")


def test_unknown_token_is_invalid_token(crm_sandbox):
    body = assert_error(requests.get(f"{crm_sandbox.base_url}/crm/v8/org", timeout=10,
                                     headers={"Authorization": "Zoho-oauthtoken 1000.abc.def"}), 401, "INVALID_TOKEN")
    assert body["message"] == "invalid oauth token"


def test_access_tokens_expire_after_their_lifetime(crm):
    crm.sandbox.config(access_token_lifetime=1)
    token = _token(crm.sandbox, grant_type="refresh_token", refresh_token=crm.sandbox.refresh_token)
    assert token["expires_in"] == 1
    headers = {"Authorization": f"Zoho-oauthtoken {token['access_token']}"}
    assert requests.get(f"{crm.sandbox.base_url}/crm/v8/org", headers=headers, timeout=10).status_code == 200
    time.sleep(1.1)
    assert_error(requests.get(f"{crm.sandbox.base_url}/crm/v8/org", headers=headers, timeout=10), 401,
                 "INVALID_TOKEN")


def test_expire_tokens_control_endpoint(crm):
    assert crm.get("/org").status_code == 200
    assert crm.sandbox.expire_tokens() >= 1
    assert_error(crm.get("/org"), 401, "INVALID_TOKEN")
    crm.sandbox.access_token(fresh=True)
    assert crm.get("/org").status_code == 200


def _org_status(sandbox, access_token: str) -> tuple[int, str]:
    response = requests.get(f"{sandbox.base_url}/crm/v8/org", timeout=10,
                            headers={"Authorization": f"Zoho-oauthtoken {access_token}"})
    return response.status_code, response.json().get("code", "")


def test_revoking_a_refresh_token_ends_the_access_tokens_it_gave_and_no_others(crm_sandbox):
    code = _consent(crm_sandbox)["code"]
    tokens = _token(crm_sandbox, grant_type="authorization_code", code=code)
    refreshed = _token(crm_sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    other = crm_sandbox.access_token(fresh=True)  # from the configured refresh token
    for access in (tokens["access_token"], refreshed["access_token"], other):
        assert _org_status(crm_sandbox, access)[0] == 200

    revoked = requests.post(f"{crm_sandbox.base_url}/oauth/v2/token/revoke", params={"token": tokens["refresh_token"]},
                            timeout=10)

    assert (revoked.status_code, revoked.json()) == (200, {"status": "success"})
    assert _org_status(crm_sandbox, tokens["access_token"]) == (401, "INVALID_TOKEN")
    assert _org_status(crm_sandbox, refreshed["access_token"]) == (401, "INVALID_TOKEN")
    assert _token(crm_sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]) == {
        "error": "invalid_code"}
    assert _org_status(crm_sandbox, other)[0] == 200


def test_a_reset_restores_the_configured_refresh_token_and_its_access_tokens(crm):
    sandbox = crm.sandbox
    access = sandbox.access_token(fresh=True)
    try:
        requests.post(f"{sandbox.base_url}/oauth/v2/token/revoke", data={"token": sandbox.refresh_token}, timeout=10)
        assert _org_status(sandbox, access) == (401, "INVALID_TOKEN")
        assert _token(sandbox, grant_type="refresh_token", refresh_token=sandbox.refresh_token) == {
            "error": "invalid_code"}
    finally:
        sandbox.reset()
    assert _org_status(sandbox, access)[0] == 200
    assert "access_token" in _token(sandbox, grant_type="refresh_token", refresh_token=sandbox.refresh_token)


def test_the_control_endpoint_issues_refresh_tokens_of_their_own(crm):
    sandbox = crm.sandbox
    sandbox.reset_calls()
    first, second = sandbox.issue_refresh_token(), sandbox.issue_refresh_token()
    assert first != second and first != sandbox.refresh_token
    assert sandbox.calls()["total"] == 0  # a control call, not one of Zoho's
    access = _token(sandbox, grant_type="refresh_token", refresh_token=first)["access_token"]
    assert _org_status(sandbox, access)[0] == 200
    requests.post(f"{sandbox.base_url}/oauth/v2/token/revoke", params={"token": first}, timeout=10)
    assert _org_status(sandbox, access) == (401, "INVALID_TOKEN")
    assert "access_token" in _token(sandbox, grant_type="refresh_token", refresh_token=second)
    assert "access_token" in _token(sandbox, grant_type="refresh_token", refresh_token=sandbox.refresh_token)


def test_a_data_file_from_before_access_tokens_knew_their_refresh_token_is_upgraded(tmp_path):
    import sqlite3

    from crm_sandbox.store import Store

    path = str(tmp_path / "old.sqlite3")
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE grants (token TEXT PRIMARY KEY, kind TEXT NOT NULL, expires_at INTEGER, "
                "redirect_uri TEXT, scope TEXT, revoked INTEGER NOT NULL DEFAULT 0)")
    old.execute("INSERT INTO grants(token, kind, expires_at) VALUES ('1000.old.access', 'access', 1)")
    old.commit()
    old.close()
    store = Store(path)
    try:
        rows = store.query("SELECT token, refresh FROM grants")
        assert [(row["token"], row["refresh"]) for row in rows] == [("1000.old.access", None)]
    finally:
        store.close()
