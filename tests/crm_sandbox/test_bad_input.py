"""Whatever a client sends, the answer is Zoho's error envelope with a 4xx: never a 500, never a traceback."""

import pytest
import requests

from .conftest import assert_error

BAD_REQUESTS = [
    ("GET", "/crm/v8/Leads?fields=id", None, 400, "INVALID_MODULE"),
    ("GET", "/crm/v8/Accounts/1/2/3", None, 404, "INVALID_URL_PATTERN"),
    ("GET", "/crm/v9/Accounts", None, 404, "INVALID_URL_PATTERN"),
    ("GET", "/nothing/here", None, 404, "INVALID_URL_PATTERN"),
    ("PATCH", "/crm/v8/Accounts", None, 405, "INVALID_REQUEST_METHOD"),
    ("POST", "/crm/v8/org", None, 405, "INVALID_REQUEST_METHOD"),
    ("GET", "/crm/v8/Accounts?fields=id&per_page=abc", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/Accounts?fields=id&per_page=0", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/Accounts?fields=id&page=-1", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/Accounts?fields=id&sort_order=up", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/Accounts?fields=id&ids=1,x", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/Accounts?fields=id&cvid=999", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/Accounts?fields=%E2%9C%93", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/Accounts/search?criteria=%28%28%28", None, 400, "INVALID_QUERY"),
    ("GET", "/crm/v8/Accounts/search?criteria=(Owner.id:between:1)", None, 400, "INVALID_QUERY"),
    ("GET", "/crm/v8/Accounts/search?criteria=(Created_Time:equals:yesterday)", None, 400, "INVALID_QUERY"),
    ("GET", "/crm/v8/Accounts/search?criteria=(Industry.id:equals:1)", None, 400, "INVALID_QUERY"),
    ("GET", "/crm/v8/Accounts/search?word=a", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/Accounts/deleted?type=gone", None, 400, "INVALID_DATA"),
    ("GET", "/crm/v8/users?type=Robots", None, 400, "INVALID_DATA"),
    ("POST", "/crm/v8/Accounts", b"\xff\xfe", 400, "INVALID_DATA"),
    ("POST", "/crm/v8/Accounts", b"[1, 2]", 400, "INVALID_DATA"),
    ("POST", "/crm/v8/Accounts", b'{"data": {"Account_Name": "x"}}', 400, "MANDATORY_NOT_FOUND"),
    ("POST", "/crm/v8/Accounts", b"", 400, "INVALID_DATA"),
    ("PUT", "/crm/v8/Accounts/abc", b'{"data": [{}]}', 400, "INVALID_DATA"),
    ("PUT", "/crm/v8/Accounts/5843104001000000001", b'{"data": [{}, {}]}', 400, "LIMIT_EXCEEDED"),
    ("DELETE", "/crm/v8/Accounts", None, 400, "REQUIRED_PARAM_MISSING"),
    ("POST", "/crm/v8/Accounts/upsert", b'{"data": [{}], "duplicate_check_fields": "Account_Name"}', 400,
     "INVALID_DATA"),
    ("POST", "/crm/v8/settings/fields?module=Accounts", b'{"fields": "ERP Id"}', 400, "MANDATORY_NOT_FOUND"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_REQUESTS)
def test_bad_requests_get_zoho_errors(crm, method, path, body, status, code):
    response = requests.request(method, crm.sandbox.base_url + path, data=body, timeout=10,
                                headers=crm.sandbox.auth_headers())
    assert_error(response, status, code)


BAD_VALUES = [
    {"Account_Name": ["a list"]}, {"Account_Name": {"nested": True}}, {"Account_Name": True},
    {"Account_Name": "ok", "Employees": 1.5}, {"Account_Name": "ok", "Employees": 10**12},
    {"Account_Name": "ok", "Annual_Revenue": "lots"}, {"Account_Name": "ok", "Parent_Account": "abc"},
    {"Account_Name": "ok", "Parent_Account": {"id": None}}, {"Account_Name": "ok", "Owner": 12},
    {"Account_Name": "ok", "Layout": {"id": "1"}}, {"Account_Name": "ok", "Industry": 7},
    {"Account_Name": "ok", "Description": "x" * 32001}, {"Account_Name": "ok", "Phone": "1" * 31},
]


@pytest.mark.parametrize("values", BAD_VALUES)
def test_bad_values_fail_only_their_record(crm, values):
    response = crm.post("/Accounts", json={"data": [values, {"Account_Name": "Fine Neighbour"}]})
    assert response.status_code == 207, response.text
    failed, ok = response.json()["data"]
    assert failed["code"] == "INVALID_DATA" and failed["status"] == "error"
    assert ok["code"] == "SUCCESS"


def test_bad_contact_values(crm):
    response = crm.post("/Contacts", json={"data": [
        {"Last_Name": "A", "Email": "not-an-email"}, {"Last_Name": "B", "Email_Opt_Out": "yes"},
        {"Last_Name": "C", "Date_of_Birth": "31/12/1990"}, {"Last_Name": "D", "Date_of_Birth": "1990-02-30"},
    ]})
    assert response.status_code == 400
    assert [r["details"]["api_name"] for r in response.json()["data"]] == [
        "Email", "Email_Opt_Out", "Date_of_Birth", "Date_of_Birth"]


def test_bad_if_modified_since_header(crm):
    response = crm.get("/Accounts", params={"fields": "id"}, headers={"If-Modified-Since": "last tuesday"})
    assert_error(response, 400, "INVALID_DATA")


def test_bad_custom_field_length(crm):
    response = crm.post("/settings/fields", params={"module": "Accounts"},
                        json={"fields": [{"field_label": "Tier", "data_type": "text", "length": 9999}]})
    assert response.status_code == 400
    assert response.json()["fields"][0]["details"]["api_name"] == "length"


@pytest.mark.parametrize("path", [
    "/crm/v8/Accounts/99999999999999999999999", "/crm/v8/Accounts/%C2%B2",
    "/crm/v8/Accounts?fields=id&ids=99999999999999999999999", "/crm/v8/Accounts?fields=id&page=99999999999999999999",
    "/crm/v2/Accounts?page=99999999999999999999", "/crm/v8/Accounts/deleted?page=99999999999999999999",
    "/crm/v8/Accounts/search?criteria=(id:equals:99999999999999999999999)",
    "/crm/v8/Contacts/search?criteria=(Account_Name.id:equals:99999999999999999999999)",
])
def test_oversized_numbers_are_client_errors_or_no_match(crm, path):
    response = requests.get(crm.sandbox.base_url + path, headers=crm.sandbox.auth_headers(), timeout=10)
    assert response.status_code in (204, 400), response.text


def test_oversized_numbers_in_values(crm):
    body = b'{"data": [{"Account_Name": "Big", "Annual_Revenue": 1' + b"0" * 400 + b'}, {"Account_Name": "Fine"}]}'
    response = crm.post("/Accounts", data=body)
    assert response.status_code == 207
    lookup = crm.post("/Contacts", json={"data": [{"Last_Name": "X", "Account_Name": {"id": "9" * 25}}]})
    assert lookup.status_code == 400 and lookup.json()["data"][0]["details"]["api_name"] == "Account_Name"


def test_head_and_options_are_not_allowed(crm):
    for method in ("HEAD", "OPTIONS"):
        response = requests.request(method, f"{crm.sandbox.base_url}/crm/v8/org", headers=crm.sandbox.auth_headers(),
                                    timeout=10)
        assert response.status_code == 405
