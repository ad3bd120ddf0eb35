"""Changes in seconds: the CRM notification channel, the webhook that takes its callbacks, the coalesced runs
of the records they name, push on save, and the poll as the safety net under both."""

from __future__ import annotations

import datetime
import json
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_save
from integration import services as integration_services
from integration.models import ConnectionStatus, ModuleConfig
from integration.signals import module_configured
from sync import notifications, tasks
from sync.models import NotificationChannel, PendingChange, RecordLink, SyncRun
from tests.factories import CustomerFactory, InvoiceFactory
from tests.sandbox import crm_records, sandbox_client

from .checks import links_of
from .conftest import configure, sync

NOTIFY = "sync:crm_notify"


@pytest.fixture
def site(settings):
    settings.SITE_URL = "http://erp.test"
    return settings


def subscribed(connection, module="customers", **options):
    config = configure(connection, module, **options)
    channel = notifications.channel_refresh(connection=connection)
    assert channel is not None and not channel.problem, channel and channel.problem
    return config, channel


def callback(channel, module="Accounts", ids=(), operation="update", **changes) -> dict:
    body = {"server_time": int(time.time() * 1000), "module": module, "ids": list(ids), "operation": operation,
            "channel_id": channel.channel_id, "token": channel.token, **changes}
    return body


def post(body, raw: bytes | None = None):
    return Client().post(reverse(NOTIFY), data=raw if raw is not None else json.dumps(body),
                         content_type="application/json")


def crm_calls(sandbox, prefix: str) -> int:
    return sum(n for name, n in sandbox.calls()["calls"].items() if name.startswith(prefix))


# --- the channel ----------------------------------------------------------------------------------------------


def test_configuring_a_module_subscribes_one_channel_for_its_crm_modules_with_a_secret_token(
        actors, connection, sandbox, site, django_capture_on_commit_callbacks, monkeypatch):
    refreshed = []
    monkeypatch.setattr(tasks.notifications_refresh, "delay", refreshed.append)
    config = configure(connection, "customers", crm_source="accounts_and_contacts")
    with django_capture_on_commit_callbacks(execute=True):
        module_configured.send(sender=ModuleConfig, module_config=config)
    assert refreshed == [connection.pk]

    channel = notifications.channel_refresh(connection=connection)

    [listed_accounts, listed_contacts] = sandbox_client(sandbox).watch_channels(channel.channel_id)
    assert (listed_accounts["resource_name"], listed_contacts["resource_name"]) == ("Accounts", "Contacts")
    assert listed_accounts["notify_url"] == "http://erp.test" + reverse(NOTIFY)
    assert listed_accounts["token"] == channel.token and len(channel.token) <= 50
    assert channel.expires_at > timezone.now() + datetime.timedelta(days=6)
    # At rest the token is encrypted.
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("SELECT token FROM sync_notificationchannel WHERE id = %s", [channel.pk])
        assert cursor.fetchone()[0] != channel.token


def test_without_a_public_address_there_is_no_channel_and_the_status_page_says_polling(actors, connection, sandbox,
                                                                                        settings):
    settings.SITE_URL = ""
    configure(connection, "vendors")
    assert notifications.channel_refresh(connection=connection) is None
    page = actors.client_for(actors.ops).get(reverse("sync:status", args=["vendors"])).content.decode()
    assert "Polling only" in page and "SITE_URL" in page


def test_the_channel_is_renewed_before_it_expires_and_made_again_when_the_crm_lost_it(connection, sandbox, site):
    _, channel = subscribed(connection, "vendors")
    NotificationChannel.objects.filter(pk=channel.pk).update(expires_at=timezone.now() + datetime.timedelta(hours=5))
    assert notifications.channels_to_refresh() == [connection.pk]
    sandbox.reset_calls()

    notifications.channel_refresh(connection=connection)

    assert sandbox.calls()["calls"].get("PATCH /crm/v8/actions/watch") == 1
    channel.refresh_from_db()
    assert channel.expires_at > timezone.now() + datetime.timedelta(days=6)
    sandbox_client(sandbox).watch_remove([channel.channel_id])  # lost in the CRM
    notifications.channel_refresh(connection=connection)
    assert sandbox_client(sandbox).watch_channels(channel.channel_id)
    assert NotificationChannel.objects.get().channel_id == channel.channel_id


def test_disabling_removes_the_channel_and_enabling_makes_it_again(connection, sandbox, site):
    _, channel = subscribed(connection, "vendors")
    integration_services.connection_disable(connection=connection, user=None)
    notifications.channel_refresh(connection=connection)
    assert not NotificationChannel.objects.exists()
    assert sandbox_client(sandbox).watch_channels() == []
    connection.status = ConnectionStatus.ACTIVE
    connection.save()
    assert notifications.channel_refresh(connection=connection).channel_id != channel.channel_id


def test_deleting_the_integration_removes_the_channel_in_the_crm(connection, sandbox, site):
    subscribed(connection, "vendors")
    from sync.services import integration_delete

    integration_delete(connection=connection, mode="all")
    assert sandbox_client(sandbox).watch_channels() == []


# --- the webhook ------------------------------------------------------------------------------------------


def test_the_webhook_takes_only_its_channels_with_their_token(connection, sandbox, site):
    _, channel = subscribed(connection)
    account = next(crm_records(sandbox_client(sandbox), "Accounts", fields=["id"]))["id"]
    good = callback(channel, ids=[account])
    assert post({**good, "channel_id": "424242"}).status_code == 403
    wrong = channel.token[:-1] + ("y" if channel.token.endswith("x") else "x")  # (a token may end in x)
    assert post({**good, "token": wrong}).status_code == 403
    assert post({**good, "token": None}).status_code == 403
    assert post(None, raw=b"{not json").status_code == 400
    assert post({**good, "operation": "explode"}).status_code == 400
    assert post(None, raw=b'{"pad": "' + b"x" * (notifications.MAX_BODY + 10) + b'"}').status_code == 413
    assert Client().get(reverse(NOTIFY)).status_code == 405
    assert not PendingChange.objects.exists()
    answer = post(good)
    assert answer.status_code == 202 and answer.json() == {"status": "queued"}
    assert list(PendingChange.objects.values_list("crm_module", "crm_id")) == [("Accounts", account)]


def test_the_payloads_values_are_never_trusted(connection, sandbox, site):
    _, channel = subscribed(connection)
    account = next(crm_records(sandbox_client(sandbox), "Accounts", fields=["id", "Account_Name"]))
    post(callback(channel, ids=[account["id"], "../../etc", {"x": 1}, "9" * 60],
                  affected_values=[{"record_id": account["id"], "values": {"Account_Name": "Forged"}}]))
    assert list(PendingChange.objects.values_list("crm_id", flat=True)) == [account["id"]]
    tasks.sync_notified(connection.pk)
    customer = Customer.objects.get(pk=links_of(connection, "Accounts")[account["id"]].erp_id)
    assert customer.display_name == account["Account_Name"]


def test_a_replayed_callback_changes_nothing_more(connection, sandbox, site):
    _, channel = subscribed(connection)
    account = next(crm_records(sandbox_client(sandbox), "Accounts", fields=["id"]))["id"]
    for _ in range(2):
        post(callback(channel, ids=[account]))
    assert PendingChange.objects.count() == 1
    tasks.sync_notified(connection.pk)
    post(callback(channel, ids=[account]))
    tasks.sync_notified(connection.pk)
    first, again = SyncRun.objects.filter(trigger="notification").order_by("pk")
    assert (first.added, again.added, again.updated) == (1, 0, 0)
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("state", ["paused", "disabled", "not synced"])
def test_callbacks_for_a_paused_or_disabled_module_or_one_not_synced_are_ignored(connection, sandbox, site, state):
    config, channel = subscribed(connection)
    module = "Vendors" if state == "not synced" else "Accounts"
    if state == "paused":
        ModuleConfig.objects.filter(pk=config.pk).update(paused=True)
    if state == "disabled":
        connection.status = ConnectionStatus.DISABLED
        connection.save()
    answer = post(callback(channel, module=module, ids=["5843104000000000001"]))
    assert answer.status_code == 202 and answer.json()["status"] != "queued"
    assert not PendingChange.objects.exists()


# --- the runs ---------------------------------------------------------------------------------------------


def test_ten_callbacks_together_make_one_fetch(connection, sandbox, site, django_capture_on_commit_callbacks,
                                               monkeypatch):
    _, channel = subscribed(connection)
    sent = []
    monkeypatch.setattr(tasks.sync_notified, "apply_async", lambda *args, **kwargs: sent.append((args, kwargs)))
    accounts = [r["id"] for r in crm_records(sandbox_client(sandbox), "Accounts", fields=["id"])][:10]
    with django_capture_on_commit_callbacks(execute=True):
        for account in accounts:
            post(callback(channel, ids=[account]))
    assert len(sent) == 1 and sent[0][1]["countdown"] == 0.5  # one run for the ten, half a second later
    sandbox.reset_calls()

    assert tasks.sync_notified(connection.pk) == "done"

    assert sandbox.calls()["calls"]["GET /crm/v8/Accounts"] == 1  # the ten ids in one call
    run = SyncRun.objects.get(trigger="notification")
    assert (run.status, run.added) == ("succeeded", 10) and set(links_of(connection, "Accounts")) == set(accounts)
    assert not PendingChange.objects.exists()
    channel.refresh_from_db()
    assert channel.last_lag_seconds is not None and channel.callbacks == 10


def test_a_change_made_in_the_crm_arrives_by_callback_through_the_same_rules(connection, sandbox, site):
    config, channel = subscribed(connection, crm_source="accounts", duplicate_action="skip")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    CustomerFactory(organization=connection.organization, display_name="Shared Name")
    new = sandbox.create_record("Accounts", {"Account_Name": "Shared Name"})
    sandbox.edit_record("Accounts", crm_id, {"Phone": "+1 555 0111"})
    post(callback(channel, ids=[crm_id, new["id"]]))

    tasks.sync_notified(connection.pk)

    assert Customer.objects.get(pk=link.erp_id).phone == "+1 555 0111"
    run = SyncRun.objects.get(trigger="notification")
    assert (run.updated, run.skipped) == (1, 1)  # the duplicate rule held
    assert run.issues.get().message.startswith("A customer with the same display name")


def test_deletions_by_callback_follow_the_deletion_rules(connection, sandbox, site):
    config, channel = subscribed(connection, crm_source="accounts")
    sync(config)
    (gone_id, gone), (kept_id, kept) = list(links_of(connection, "Accounts").items())[:2]
    InvoiceFactory(customer_id=kept.erp_id)
    for crm_id in (gone_id, kept_id):
        sandbox.delete_record("Accounts", crm_id)
    post(callback(channel, ids=[gone_id, kept_id], operation="delete"))
    post(callback(channel, ids=["5843104099999999999"], operation="delete"))  # never existed: nothing happens

    tasks.sync_notified(connection.pk)

    assert not Customer.objects.filter(pk=gone.erp_id).exists()
    survivor = Customer.objects.get(pk=kept.erp_id)
    assert not survivor.is_active and RecordLink.objects.get(crm_id=kept_id).crm_deleted_at is not None


def test_a_callback_while_a_full_run_holds_the_module_waits_for_it(connection, sandbox, site):
    config, channel = subscribed(connection)
    account = next(crm_records(sandbox_client(sandbox), "Accounts", fields=["id"]))["id"]
    post(callback(channel, ids=[account]))
    SyncRun.objects.create(module_config=config, trigger="scheduled", status="running", started_at=timezone.now(),
                           heartbeat_at=timezone.now())
    from .conftest import worker_alive

    with worker_alive(config):
        assert notifications.changes_apply(connection_id=connection.pk) == "busy"
    assert PendingChange.objects.count() == 1  # kept for the next try


def test_our_own_writes_coming_back_as_callbacks_change_and_push_nothing(connection, sandbox, site):
    config, channel = subscribed(connection, crm_source="accounts", direction="both")
    CustomerFactory(organization=connection.organization, display_name="Made Here Ltd")
    sync(config)  # pushed to the CRM
    crm_id = RecordLink.objects.get(origin="erp").crm_id
    before = Customer.objects.get(display_name="Made Here Ltd").updated_at
    sandbox.reset_calls()
    post(callback(channel, ids=[crm_id], operation="insert"))

    tasks.sync_notified(connection.pk)

    run = SyncRun.objects.get(trigger="notification")
    assert (run.added, run.updated, run.pushed) == (0, 0, 0)
    assert Customer.objects.get(display_name="Made Here Ltd").updated_at == before
    assert not any(call.startswith(("POST /crm/v8/Accounts", "PUT /crm/v8/Accounts")) for call in sandbox.calls()["calls"])


def test_a_dropped_callback_is_caught_by_the_next_poll(connection, sandbox, site):
    config, channel = subscribed(connection, crm_source="accounts")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    sandbox.config(notify_drop_rate=1.0)
    sandbox.edit_record("Accounts", crm_id, {"Phone": "+1 555 0222"})
    time.sleep(0.3)
    assert not PendingChange.objects.exists()  # nothing came

    sync(config)

    assert Customer.objects.get(pk=link.erp_id).phone == "+1 555 0222"


# --- push on save -----------------------------------------------------------------------------------------


def test_saves_here_make_one_push_a_moment_later(connection, sandbox, django_capture_on_commit_callbacks,
                                                 monkeypatch):
    config = configure(connection, "customers", crm_source="accounts", direction="both")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    sent = []
    monkeypatch.setattr(tasks.push_saved, "apply_async", lambda *args, **kwargs: sent.append((args, kwargs)))
    customer = Customer.objects.get(pk=link.erp_id)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            customer.phone = f"+1 555 01{n:02d}"
            customer_save(customer=customer)
    assert sent == [(((config.pk,),), {"countdown": 1})]  # one push for the five, a second on
    sandbox.reset_calls()

    assert tasks.push_saved(config.pk) == "succeeded"

    assert sandbox.get_record("Accounts", crm_id)["Phone"] == "+1 555 0104"
    assert crm_calls(sandbox, "PUT /crm/v8/Accounts") == 1
    run = SyncRun.objects.get(trigger="save")
    assert run.pushed == 1
    config.refresh_from_db()
    assert config.save_push_due_at is None


def test_a_push_on_save_keeps_the_conflict_rules(connection, sandbox):
    config = configure(connection, "customers", crm_source="accounts", direction="both")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    sandbox.edit_record("Accounts", crm_id, {"Phone": "+1 555 CRM", "Website": "crm.test"})
    customer = Customer.objects.get(pk=link.erp_id)
    customer.phone, customer.billing_city = "+1 555 ERP", "Porto"
    customer_save(customer=customer)

    tasks.push_saved(config.pk)

    record = sandbox.get_record("Accounts", crm_id)
    customer.refresh_from_db()
    assert customer.phone == record["Phone"] == "+1 555 CRM"  # both changed it: the CRM wins customers
    assert record["Billing_City"] == "Porto" and customer.website == "crm.test"  # one side each: copied over


def test_a_save_in_a_module_that_only_fetches_pushes_nothing(connection, sandbox, django_capture_on_commit_callbacks,
                                                             monkeypatch):
    configure(connection, "customers", crm_source="accounts")
    sent = []
    monkeypatch.setattr(tasks.push_saved, "apply_async", lambda *args, **kwargs: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        CustomerFactory(organization=connection.organization)
    assert sent == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_save_reaches_the_crm_through_a_real_worker(connection, sandbox, settings, celery_worker):
    settings.CRM_SAVE_PUSH_DEBOUNCE_SECONDS = 0.5
    config = configure(connection, "customers", crm_source="accounts", direction="both")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    customer = Customer.objects.get(pk=link.erp_id)
    customer.phone = "+1 555 0999"
    customer_save(customer=customer)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sandbox.get_record("Accounts", crm_id).get("Phone") != "+1 555 0999":
        time.sleep(0.2)
    assert sandbox.get_record("Accounts", crm_id)["Phone"] == "+1 555 0999"
    while time.monotonic() < deadline and SyncRun.objects.filter(trigger="save", status__in=("queued", "running")).exists():
        time.sleep(0.1)  # the CRM has the change a moment before the run is recorded as finished
    assert SyncRun.objects.get(trigger="save").status == "succeeded"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_crm_edit_reaches_the_erp_in_seconds_through_the_webhook_and_a_worker(connection, sandbox, settings,
                                                                                live_server, celery_worker):
    settings.SITE_URL = live_server.url
    settings.CRM_NOTIFY_COALESCE_SECONDS = 0.3
    config, channel = subscribed(connection, crm_source="accounts")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))

    sandbox.edit_record("Accounts", crm_id, {"Phone": "+1 555 0777"})

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Customer.objects.get(pk=link.erp_id).phone != "+1 555 0777":
        time.sleep(0.2)
    assert Customer.objects.get(pk=link.erp_id).phone == "+1 555 0777"
    assert SyncRun.objects.filter(trigger="notification", status="succeeded").exists()


# --- status and control -------------------------------------------------------------------------------------


def test_the_status_page_shows_the_mode_the_channel_the_last_callback_and_the_lag(actors, connection, sandbox, site):
    _, channel = subscribed(connection)
    account = next(crm_records(sandbox_client(sandbox), "Accounts", fields=["id"]))["id"]
    post(callback(channel, ids=[account]))
    tasks.sync_notified(connection.pk)

    page = actors.client_for(actors.ops).get(reverse("sync:status", args=["customers"])).content.decode()

    channel.refresh_from_db()
    assert "Notifications live" in page
    assert f"{timezone.localtime(channel.expires_at):%Y-%m-%d %H:%M}" in page
    assert f"{timezone.localtime(channel.last_callback_at):%Y-%m-%d %H:%M:%S}" in page
    assert "s after it was made in Zoho CRM" in page


def test_crm_notifications_enables_shows_and_disables_from_a_terminal(actors, connection, sandbox, site):
    from io import StringIO

    from django.core.management import call_command

    configure(connection, "vendors")
    out = StringIO()
    call_command("crm_notifications", org=actors.organization.name, enable=True, json=True, stdout=out)
    shown = json.loads(out.getvalue())
    assert shown["mode"] == "live" and shown["events"] == ["Vendors.all"]
    assert sandbox_client(sandbox).watch_channels(shown["channel_id"])
    out = StringIO()
    call_command("crm_notifications", org=actors.organization.name, disable=True, json=True, stdout=out)
    assert json.loads(out.getvalue())["mode"] == "polling" and sandbox_client(sandbox).watch_channels() == []


def test_the_history_shows_the_small_runs_apart(actors, connection):
    config = configure(connection, "vendors")
    SyncRun.objects.create(module_config=config, trigger="scheduled", status="succeeded")
    for _ in range(3):
        SyncRun.objects.create(module_config=config, trigger="notification", status="succeeded")
    client = actors.client_for(actors.ops)
    assert [r.trigger for r in client.get(reverse("sync:history")).context["state"].page] == ["scheduled"]
    events = client.get(reverse("sync:history"), {"view": "events"}).context["state"].page
    assert [r.trigger for r in events] == ["notification"] * 3


def test_a_push_the_crm_keeps_refusing_is_left_to_the_schedule_with_an_issue(connection, sandbox, monkeypatch):
    from sync.engine import run as engine

    quick = engine.client_for
    monkeypatch.setattr(engine, "client_for", lambda c, **o: quick(c, backoff_base=0.01, backoff_cap=0.05, **o))
    config = configure(connection, "customers", crm_source="accounts", direction="both")
    sync(config)
    crm_id, link = next(iter(links_of(connection, "Accounts").items()))
    customer = Customer.objects.get(pk=link.erp_id)
    customer.phone = "+1 555 0333"
    customer_save(customer=customer)
    sandbox.config(error_rate_5xx=1.0)

    outcome = tasks.push_saved.apply(args=(config.pk,), retries=tasks.FAILED_RETRIES).get()

    assert outcome == "failed"
    run = SyncRun.objects.get(trigger="save")
    assert "the next scheduled sync sends them" in run.issues.get().message
    sandbox.config(error_rate_5xx=0.0)
    sync(config)  # the scheduled run: it is still to be sent, and goes
    assert sandbox.get_record("Accounts", crm_id)["Phone"] == "+1 555 0333"


def test_without_notifications_a_module_can_poll_more_often(actors, connection, sandbox, settings):
    settings.SITE_URL = ""
    client = actors.client_for(actors.admin)
    page = client.get(reverse("integration:configure", args=["vendors"]))
    assert "Poll Zoho CRM for changes" in page.content.decode()
    from tests.integration.test_configure import form_data

    client.post(reverse("integration:configure", args=["vendors"]),
                {**form_data(page, interval_minutes="15"), "save": "later"})
    config = ModuleConfig.objects.get(connection=connection, module="vendors")
    assert config.interval_minutes == 15
    assert config.next_run_at < timezone.now() + datetime.timedelta(minutes=16)
