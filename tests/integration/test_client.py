"""The CRM client against the running sandbox, over HTTP."""

import datetime
import logging
import threading

import pytest

from integration.crm.client import CrmPaginationLimit
from integration.crm.errors import (
    CrmAuthError,
    CrmBudgetReached,
    CrmInvalidData,
    CrmNotFound,
    CrmServerError,
    CrmUnavailable,
)
from tests.sandbox import crm_records, sandbox_client


def test_pages_through_every_record_once(crm_client, sandbox):
    pages = list(crm_client.iter_pages("Accounts", fields=["Account_Name"], per_page=20))
    ids = [r["id"] for page in pages for r in page.records]
    assert len(pages) >= 3
    assert len(ids) == len(set(ids)) == 50
    assert sandbox.calls()["calls"]["GET /crm/v8/Accounts"] == len(pages) == crm_client.calls
    assert all("Account_Name" in r for page in pages for r in page.records)


def test_reading_ahead_gives_the_same_pages_and_runs_token_callbacks_in_the_callers_thread(sandbox):
    client = sandbox_client(sandbox, access_token="stale",
                            access_token_expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1))
    stored = []  # the callback writes to the database in real use: it must run in the caller's thread
    client.on_tokens = lambda token, expires_at: stored.append(threading.current_thread())
    plain = [[r["id"] for r in page.records]
             for page in sandbox_client(sandbox).iter_pages("Accounts", fields=["Account_Name"], per_page=20)]

    ahead = [[r["id"] for r in page.records]
             for page in client.read_ahead(client.iter_pages("Accounts", fields=["Account_Name"], per_page=20))]

    assert ahead == plain and len(plain) >= 3
    assert stored == [threading.current_thread()]
    assert client.calls == len(plain)


def test_reading_ahead_hands_errors_to_the_caller_and_stops_when_left(crm_client, sandbox):
    sandbox.config(page_token_ceiling=20)
    with pytest.raises(CrmPaginationLimit):
        for _ in crm_client.read_ahead(crm_client.iter_pages("Accounts", fields=["Account_Name"], per_page=20)):
            pass
    sandbox.config(page_token_ceiling=100000)
    before = crm_client.calls
    pages = crm_client.read_ahead(crm_client.iter_pages("Accounts", fields=["Account_Name"], per_page=10))
    next(pages)
    pages.close()
    assert crm_client.calls - before <= 3  # the page taken, at most one read ahead and one in flight
    assert not any(thread.name == "crm-read-ahead" for thread in threading.enumerate())


def test_fields_are_limited_to_what_is_asked(crm_client):
    record = next(crm_records(crm_client, "Accounts", fields=["Phone"], per_page=5))
    assert set(record) <= {"id", "Phone"}


def test_not_modified_is_an_empty_result(crm_client):
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert list(crm_client.iter_pages("Accounts", fields=["Account_Name"], modified_since=future)) == []
    assert crm_client.calls == 1


def test_modified_since_returns_only_newer_records(crm_client, sandbox):
    records = list(crm_records(crm_client, "Accounts", fields=["Account_Name", "Modified_Time"]))
    latest = max(datetime.datetime.fromisoformat(r["Modified_Time"]) for r in records)
    changed = sandbox.edit_record("Accounts", records[0]["id"], {"Phone": "+1 555 9999"})
    fresh = list(crm_records(crm_client, "Accounts", fields=["Phone"], modified_since=latest))
    assert [r["id"] for r in fresh] == [changed["id"]]


def test_an_expired_token_is_refreshed_before_the_call(sandbox):
    client = sandbox_client(sandbox, access_token="stale",
                            access_token_expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1))
    stored = []
    client.on_tokens = lambda token, expires_at: stored.append(expires_at)
    assert client.org()["id"]
    assert client.token_refreshes == 1 and client.calls == 1
    assert stored and stored[0] > datetime.datetime.now(datetime.UTC)


def test_a_token_the_crm_rejects_is_refreshed_once_on_401(crm_client, sandbox):
    crm_client.org()
    sandbox.expire_tokens()
    assert crm_client.org()["id"]
    assert crm_client.token_refreshes == 2  # the first token, then once after the 401
    assert crm_client.calls == 3


def test_a_refused_refresh_marks_auth_failure_once_and_does_not_storm(sandbox):
    failures = []
    client = sandbox_client(sandbox, refresh_token="1000.revoked.token", on_auth_failure=failures.append)
    with pytest.raises(CrmAuthError):
        client.org()
    with pytest.raises(CrmAuthError):
        client.org()
    assert len(failures) == 1 and client.token_refreshes == 1 and client.calls == 0


@pytest.mark.parametrize("fault", ["error_rate_5xx", "error_rate_429", "drop_rate"])
def test_transient_faults_are_retried_until_the_call_succeeds(crm_client, sandbox, fault):
    sandbox.config(**{fault: 0.5, "fault_seed": 7})
    records = list(crm_records(crm_client, "Accounts", fields=["Account_Name"], per_page=10))
    assert len(records) == 50
    assert crm_client.retries > 0
    assert crm_client.calls == crm_client.retries + 5  # five pages, each tried until it came through


def test_gives_up_after_the_bound_with_a_typed_error(sandbox):
    client = sandbox_client(sandbox, max_attempts=3)
    client.org()
    sandbox.config(error_rate_5xx=1.0)
    with pytest.raises(CrmServerError, match="Gave up after 3 attempts"):
        client.org()
    assert client.calls == 4


def test_dropped_connections_end_in_unavailable(sandbox):
    client = sandbox_client(sandbox, max_attempts=2)
    client.org()
    sandbox.config(drop_rate=1.0)
    with pytest.raises(CrmUnavailable):
        client.org()


def test_a_client_error_is_never_retried(crm_client):
    with pytest.raises(CrmInvalidData) as error:
        crm_client.request("GET", "/crm/v8/Accounts")  # `fields` is required in v8
    assert error.value.code == "REQUIRED_PARAM_MISSING"
    assert crm_client.calls == 1 and crm_client.retries == 0


def test_unknown_record_is_not_found(crm_client):
    with pytest.raises(CrmNotFound):
        crm_client.get_record("Accounts", "1234567890123456789")


def test_partial_upsert_gives_per_record_results(crm_client, sandbox):
    results = crm_client.upsert(
        "Accounts",
        [{"Account_Name": "Upsert One"}, {"Phone": "+1 555 0000"}, {"Account_Name": "Upsert Two"}],
        duplicate_check_fields=["Account_Name"],
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].code == "MANDATORY_NOT_FOUND"
    assert sandbox.get_record("Accounts", results[0].id)["Account_Name"] == "Upsert One"
    again = crm_client.upsert("Accounts", [{"Account_Name": "Upsert One", "Phone": "1"}],
                              duplicate_check_fields=["Account_Name"])
    assert again[0].action == "update" and again[0].id == results[0].id


def test_writes_go_in_chunks_of_100(crm_client, sandbox):
    records = [{"Account_Name": f"Bulk {i}"} for i in range(250)]
    results = crm_client.upsert("Accounts", records, duplicate_check_fields=["Account_Name"])
    assert len(results) == 250 and all(r.ok for r in results)
    assert sandbox.calls()["calls"]["POST /crm/v8/Accounts/upsert"] == 3


def test_search_deleted_and_metadata(crm_client, sandbox):
    account = next(crm_records(crm_client, "Accounts", fields=["Account_Name"], per_page=1))
    found = crm_client.search("Accounts", criteria=f"(Account_Name:equals:{account['Account_Name']})")
    assert account["id"] in [r["id"] for r in found]
    sandbox.delete_record("Accounts", account["id"])
    assert account["id"] in [d["id"] for d in crm_client.iter_deleted("Accounts")]
    assert any(f["api_name"] == "Account_Name" for f in crm_client.fields("Accounts"))
    assert crm_client.custom_views("Accounts")
    assert crm_client.users() and crm_client.org()["id"]


def test_calls_are_logged_without_tokens_or_query_strings(crm_client, caplog):
    caplog.set_level(logging.INFO, logger="integration.crm")
    crm_client.search("Contacts", email="someone@example.com")
    text = caplog.text
    assert "GET /crm/v8/Contacts/search" in text
    assert crm_client.access_token not in text and "someone@example.com" not in text
    assert "refresh" not in text.replace("/oauth/v2/token", "")


def test_credits_are_counted_per_call_and_a_budget_or_the_crms_own_count_stops_calls(sandbox):
    client = sandbox_client(sandbox)
    client.org()
    client.get_json("/crm/v8/Accounts/deleted", params={"type": "all"})
    assert client.credits == 3
    client.credit_limit = 4
    client.org()
    with pytest.raises(CrmBudgetReached, match="past the budget"):
        client.org()
    assert client.calls == 3  # refused before it was sent

    sandbox.config(daily_credits=4)
    crm = sandbox_client(sandbox)
    crm.org()
    crm.org()
    assert crm.credits_remaining == 2  # reported from half used
    crm.credit_floor = 2  # two left to other tools
    with pytest.raises(CrmBudgetReached, match="2 API credits left today"):
        crm.org()


def test_a_429_with_no_credits_left_stops_at_once_instead_of_retrying(sandbox):
    sandbox.config(daily_credits=2)
    spender = sandbox_client(sandbox)  # another tool on the same CRM organization
    spender.org()
    spender.org()
    crm = sandbox_client(sandbox)
    with pytest.raises(CrmBudgetReached, match="used up"):
        crm.org()
    assert crm.retries == 0 and crm.calls == 1
