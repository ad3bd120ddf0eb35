import time
from datetime import datetime

import pytest
import requests

from .conftest import assert_error


def test_rate_limit_answers_429_with_rate_headers(crm):
    crm.sandbox.config(rate_limit_per_minute=3)
    statuses = []
    for _ in range(3):
        response = crm.get("/org")
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200]
    assert response.headers["X-RATELIMIT-LIMIT"] == "3" and response.headers["X-RATELIMIT-REMAINING"] == "0"
    limited = crm.get("/org")
    body = assert_error(limited, 429, "TOO_MANY_REQUESTS")
    assert body["details"] == {}
    assert limited.headers["X-RATELIMIT-REMAINING"] == "0"
    assert int(limited.headers["X-RATELIMIT-RESET"]) > time.time() * 1000
    assert "X-API-CREDITS-REMAINING" not in limited.headers  # a per-minute limit, not the daily credits
    assert crm.sandbox.calls()["faults"]["rate_limited"] == 1
    assert requests.get(f"{crm.sandbox.base_url}/__sandbox__/health", timeout=5).status_code == 200


def test_daily_credits_are_counted_at_zoho_costs_reported_from_half_used_and_refused_when_gone(crm):
    crm.sandbox.config(daily_credits=10)
    first = crm.get("/Accounts", params={"fields": "Account_Name"})
    assert first.status_code == 200 and "X-API-CREDITS-REMAINING" not in first.headers  # 1 of 10 used
    views = crm.get("/settings/custom_views", params={"module": "Accounts"}).json()["custom_views"]  # 2 used
    crm.get("/Accounts", params={"fields": "Account_Name", "cvid": views[0]["id"]})  # 3 credits: 5 used
    deleted = crm.get("/Accounts/deleted")  # 2 credits: 7 used, more than half
    assert deleted.headers["X-API-CREDITS-REMAINING"] == "3"
    written = crm.post("/Accounts", json={"data": [{"Account_Name": f"Credit {n}"} for n in range(11)]})
    assert written.status_code in (200, 201) and written.headers["X-API-CREDITS-REMAINING"] == "1"  # 11 records: 2
    assert crm.get("/org").headers["X-API-CREDITS-REMAINING"] == "0"
    refused = crm.get("/org")
    assert_error(refused, 429, "TOO_MANY_REQUESTS")
    assert refused.headers["X-API-CREDITS-REMAINING"] == "0"
    assert crm.sandbox.calls()["faults"]["credits_exhausted"] == 1


def test_rate_limit_is_off_by_default(crm):
    response = crm.get("/org")
    assert "X-RATELIMIT-LIMIT" not in response.headers
    assert all(crm.get("/org").status_code == 200 for _ in range(30))


def test_injected_5xx(crm):
    crm.sandbox.config(error_rate_5xx=1.0)
    assert_error(crm.get("/Accounts", params={"fields": "id"}), 500, "INTERNAL_ERROR")
    assert crm.sandbox.calls()["faults"] == {"5xx": 1}


def test_injected_429_carries_rate_headers(crm):
    crm.sandbox.config(error_rate_429=1.0)
    response = crm.get("/org")
    assert_error(response, 429, "TOO_MANY_REQUESTS")
    assert response.headers["X-RATELIMIT-REMAINING"] == "0"


def test_injected_faults_never_write(crm):
    before = crm.get("/Vendors/actions/count").json()["count"]
    crm.sandbox.config(error_rate_5xx=1.0)
    assert crm.post("/Vendors", json={"data": [{"Vendor_Name": "Lost"}]}).status_code == 500
    crm.sandbox.config(error_rate_5xx=0.0)
    assert crm.get("/Vendors/actions/count").json()["count"] == before


def test_dropped_connections(crm):
    crm.sandbox.config(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{crm.sandbox.base_url}/crm/v8/org", headers=crm.sandbox.auth_headers(), timeout=5)
    assert crm.sandbox.calls()["faults"]["drop"] == 1


def test_timeouts_hold_the_answer_back(crm):
    crm.sandbox.config(timeout_rate=1.0, timeout_ms=1500)
    with pytest.raises(requests.Timeout):
        requests.get(f"{crm.sandbox.base_url}/crm/v8/org", headers=crm.sandbox.auth_headers(), timeout=0.5)


def test_latency_is_added(crm):
    crm.sandbox.config(latency_ms=200)
    started = time.perf_counter()
    assert crm.get("/org").status_code == 200
    assert time.perf_counter() - started >= 0.2


def test_fault_seed_makes_faults_repeatable(crm):
    def pattern():
        crm.sandbox.config(error_rate_5xx=0.5, fault_seed=7)
        return [crm.get("/org").status_code for _ in range(12)]

    first = pattern()
    assert set(first) == {200, 500}
    assert pattern() == first


def test_faults_never_hit_control_endpoints(crm):
    crm.sandbox.reset_calls()
    crm.sandbox.config(error_rate_5xx=1.0, drop_rate=0.0)
    for _ in range(5):
        assert crm.sandbox.config()["error_rate_5xx"] == 1.0
        crm.sandbox.get_record("Accounts", crm.sandbox.create_record("Accounts", {"Account_Name": "C"})["id"])
    assert crm.sandbox.calls() == {"calls": {}, "faults": {}, "total": 0}


def test_calls_are_counted_per_endpoint_and_reset(crm):
    crm.sandbox.reset_calls()
    crm.get("/Accounts", params={"fields": "id"})
    crm.get("/Accounts", params={"fields": "id", "page": 2})
    crm.get("/org")
    calls = crm.sandbox.calls()
    assert calls["calls"] == {"GET /crm/v8/Accounts": 2, "GET /crm/v8/org": 1}
    assert calls["total"] == 3
    crm.sandbox.reset_calls()
    assert crm.sandbox.calls()["calls"] == {}


def test_config_rejects_unknown_or_bad_values(crm_sandbox):
    for body in ({"nope": 1}, {"error_rate_5xx": 2}, {"latency_ms": -1}, {"utc_offset": "EST"}):
        response = requests.post(f"{crm_sandbox.base_url}/__sandbox__/config", json=body, timeout=5)
        assert_error(response, 400, "INVALID_DATA")


def test_reset_restores_seed_data_and_config(crm):
    crm.sandbox.config(latency_ms=5, discrete_ceiling=10)
    crm.post("/Vendors", json={"data": [{"Vendor_Name": "Temporary"}]})
    crm.sandbox.reset()
    assert crm.sandbox.config()["latency_ms"] == 0 and crm.sandbox.config()["discrete_ceiling"] == 2000
    assert crm.get("/Vendors/actions/count").json()["count"] == 20
    assert crm.get("/Vendors/search", params={"word": "Temporary"}).status_code == 204


def test_edit_record_as_a_crm_user(crm):
    record = crm.get("/Accounts", params={"fields": "Account_Name,Modified_Time", "per_page": 1}).json()["data"][0]
    edited = crm.sandbox.edit_record("Accounts", record["id"], {"Phone": "+49 30 999", "$user": "ben.okafor@zylker.test"})
    assert edited["Phone"] == "+49 30 999" and edited["Modified_By"]["name"] == "Ben Okafor"
    assert datetime.fromisoformat(edited["Modified_Time"]) > datetime.fromisoformat(record["Modified_Time"])
    listed = crm.get("/Accounts", params={"fields": "Phone"}, headers={"If-Modified-Since": record["Modified_Time"]})
    assert record["id"] in {r["id"] for r in listed.json()["data"]}


def test_create_and_delete_record_as_a_crm_user(crm):
    created = crm.sandbox.create_record("Vendors", {"Vendor_Name": "Made In CRM", "Email": "crm@vendor.test"})
    assert crm.get(f"/Vendors/{created['id']}").json()["data"][0]["Vendor_Name"] == "Made In CRM"
    crm.sandbox.delete_record("Vendors", created["id"])
    deleted = crm.get("/Vendors/deleted").json()["data"]
    assert [item["id"] for item in deleted] == [created["id"]]


def test_control_edits_are_validated_like_the_api(crm_sandbox):
    response = requests.post(f"{crm_sandbox.base_url}/__sandbox__/records/Accounts", json={"Phone": "1"}, timeout=5)
    assert_error(response, 400, "MANDATORY_NOT_FOUND")
    response = requests.post(f"{crm_sandbox.base_url}/__sandbox__/records/Leads", json={}, timeout=5)
    assert_error(response, 400, "INVALID_MODULE")


def test_bulk_changes_many_records(crm):
    ids = crm.all_ids("Contacts")
    result = crm.sandbox.bulk("Contacts", create=[{"Last_Name": f"Bulk {n}"} for n in range(150)],
                              update=[{"id": ids[0], "Title": "Bulk Title"}], delete=ids[1:3], touch=10)
    assert (len(result["created"]), result["updated"], result["deleted"], result["touched"]) == (150, 1, 2, 10)
    assert result["errors"] == []
    assert crm.get("/Contacts/actions/count").json()["count"] == 150 + 150 - 2
    everything = crm.sandbox.bulk("Contacts", touch="all")
    assert everything["touched"] == 298
