"""Notifications: the Watch API's channels, and the callbacks every record change sends to them."""

import datetime
import time

from .conftest import assert_error

CHANNEL = "1000000068001"


def subscribe(crm, receiver, events=("Accounts.all",), **extra):
    return crm.post("/actions/watch", json={"watch": [{"channel_id": CHANNEL, "events": list(events),
                                                       "notify_url": receiver.url, "token": "acct-sync-7f3a", **extra}]})


def some_ids(crm, module: str, count: int) -> list[str]:
    return crm.all_ids(module)[:count]


def test_subscribing_answers_201_with_the_channel_per_module_and_an_hour_by_default(crm, receiver):
    response = subscribe(crm, receiver, events=["Accounts.all", "Contacts.edit"])
    assert response.status_code == 201
    [item] = response.json()["watch"]
    assert item["code"] == "SUCCESS"
    events = item["details"]["events"]
    assert [e["resource_name"] for e in events] == ["Accounts", "Contacts"]
    assert all(e["channel_id"] == CHANNEL for e in events)
    expiry = datetime.datetime.fromisoformat(events[0]["channel_expiry"])
    assert abs((expiry - datetime.datetime.now(datetime.UTC)).total_seconds() - 3600) < 60


def test_an_expiry_past_a_week_becomes_an_hour_and_renewal_is_a_patch(crm, receiver):
    far = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)).isoformat(timespec="seconds")
    response = subscribe(crm, receiver, channel_expiry=far)
    expiry = datetime.datetime.fromisoformat(response.json()["watch"][0]["details"]["events"][0]["channel_expiry"])
    assert expiry < datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)
    six_days = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=6)).replace(microsecond=0)
    renewed = crm.request("PATCH", "/actions/watch", json={"watch": [{"channel_id": CHANNEL,
                                                                       "channel_expiry": six_days.isoformat()}]})
    assert renewed.status_code == 200
    listed = crm.get("/actions/watch", params={"channel_id": CHANNEL}).json()["watch"][0]
    # the sandbox answers in the organization's time zone: the same instant, whatever the hour of the test
    assert datetime.datetime.fromisoformat(listed["channel_expiry"]) == six_days
    assert listed["token"] == "acct-sync-7f3a"


def test_errors_are_per_item_and_come_back_with_202(crm, receiver):
    response = crm.post("/actions/watch", json={"watch": [
        {"events": ["Accounts.all"], "notify_url": receiver.url},
        {"channel_id": "2", "events": ["Leads.all"], "notify_url": receiver.url},
        {"channel_id": "3", "events": ["Accounts.all"], "notify_url": receiver.url, "token": "x" * 51},
    ]})
    assert response.status_code == 202
    codes = [(item["code"], item["details"].get("api_name")) for item in response.json()["watch"]]
    assert codes == [("MANDATORY_NOT_FOUND", "channel_id"), ("INVALID_DATA", "events"), ("INVALID_DATA", "token")]
    missing = crm.request("PATCH", "/actions/watch", json={"watch": [{"channel_id": "999", "channel_expiry": None}]})
    assert missing.status_code == 202 and missing.json()["watch"][0]["code"] == "NOT_SUBSCRIBED"
    assert_error(crm.post("/actions/watch", json={}), 400, "MANDATORY_NOT_FOUND")


def test_every_api_write_calls_back_with_its_operation_and_the_token(crm, crm_sandbox, receiver):
    subscribe(crm, receiver)
    created = crm.post("/Accounts", json={"data": [{"Account_Name": "Watched Ltd"}]}).json()["data"][0]["details"]["id"]
    receiver.wait(1)
    crm.put("/Accounts", json={"data": [{"id": created, "Phone": "+1 555 0100"}]})
    receiver.wait(2)
    crm.delete("/Accounts", params={"ids": created})
    callbacks = receiver.wait(3)
    assert [(c["operation"], c["ids"]) for c in callbacks] == [("insert", [created]), ("update", [created]),
                                                               ("delete", [created])]
    first = callbacks[0]
    assert first["channel_id"] == CHANNEL and first["token"] == "acct-sync-7f3a" and first["module"] == "Accounts"
    assert first["query_params"] == {"src": "crm"} and first["resource_uri"].endswith("/crm/v8/Accounts")
    assert first["server_time"] > 1_700_000_000_000  # epoch milliseconds


def test_a_crm_users_edit_calls_back_too_and_changes_together_share_one_callback(crm, crm_sandbox, receiver):
    subscribe(crm, receiver)
    ids = some_ids(crm, "Accounts", 5)
    crm.put("/Accounts", json={"data": [{"id": i, "Phone": "+1 555 0199"} for i in ids]})
    [together] = receiver.wait(1)
    assert together["operation"] == "update" and sorted(together["ids"]) == sorted(ids)
    crm_sandbox.edit_record("Accounts", ids[0], {"Website": "edited.test"})
    assert receiver.wait(2)[1]["ids"] == [ids[0]]


def test_only_the_events_a_channel_names_call_it(crm, crm_sandbox, receiver):
    subscribe(crm, receiver, events=["Contacts.edit"])
    contact = some_ids(crm, "Contacts", 1)[0]
    crm_sandbox.edit_record("Accounts", some_ids(crm, "Accounts", 1)[0], {"Phone": "1"})
    crm_sandbox.delete_record("Contacts", some_ids(crm, "Contacts", 2)[1])
    crm_sandbox.edit_record("Contacts", contact, {"Phone": "2"})
    callbacks = receiver.wait(1)
    assert [(c["module"], c["operation"], c["ids"]) for c in receiver.quiet()] == [("Contacts", "update", [contact])]
    assert callbacks


def test_a_failed_write_announces_nothing(crm, receiver):
    subscribe(crm, receiver)
    crm.post("/Accounts", json={"data": [{"Phone": "no name"}]})
    assert receiver.quiet() == []


def test_an_unsubscribed_or_expired_channel_calls_no_more(crm, crm_sandbox, receiver):
    subscribe(crm, receiver)
    account = some_ids(crm, "Accounts", 1)[0]
    assert crm.delete("/actions/watch", params={"channel_ids": CHANNEL}).status_code == 200
    crm_sandbox.edit_record("Accounts", account, {"Phone": "1"})
    assert receiver.quiet() == []
    assert crm.get("/actions/watch").status_code == 204
    past = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=2)).isoformat(timespec="seconds")
    subscribe(crm, receiver, channel_expiry=past)
    time.sleep(2.5)
    crm_sandbox.edit_record("Accounts", account, {"Phone": "2"})
    assert receiver.quiet() == []


def test_knobs_drop_delay_and_duplicate_callbacks(crm, crm_sandbox, receiver):
    subscribe(crm, receiver)
    account = some_ids(crm, "Accounts", 1)[0]
    crm_sandbox.config(notify_drop_rate=1.0)
    crm_sandbox.edit_record("Accounts", account, {"Phone": "1"})
    assert receiver.quiet() == [] and crm_sandbox.notifications()["counts"]["dropped"] == 1
    crm_sandbox.config(notify_drop_rate=0.0, notify_duplicate_rate=1.0, notify_delay_ms=300)
    started = time.monotonic()
    crm_sandbox.edit_record("Accounts", account, {"Phone": "2"})
    twice = receiver.wait(2)
    assert time.monotonic() - started >= 0.3
    assert len(twice) == 2 and twice[0] == twice[1]
    assert crm_sandbox.notifications()["counts"]["duplicated"] == 1
