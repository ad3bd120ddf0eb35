"""What operators fix themselves, against the sandbox: open issues followed across runs and retried,
mass deletions held for approval, alerts once per incident, the API credit budget, mapped CRM fields
that change."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from customers.models import Customer
from integration.models import CrmFieldCache, FieldMapping, ModuleConfig
from organizations.models import Membership, Notification
from sync import alerts, credits, operator
from sync.models import Alert, AlertKind, HeldDeletion, OpenIssue, RecordLink, SyncRun
from tests.factories import CustomerFactory, InvoiceFactory, MembershipFactory
from tests.sandbox import sandbox_client

from .checks import links_of
from .conftest import configure, sync

NAME_AND_SITE = [
    ("customer", "Accounts", "Account_Name", "text", "display_name", "both"),
    ("customer", "Accounts", "Account_Site", "text", "email", "fetch"),  # any text there, an email here
]


def issues_of(config) -> list[OpenIssue]:
    return list(OpenIssue.objects.filter(module_config=config).order_by("id"))


# --- Open issues, with retry ------------------------------------------------------------------------------


def test_a_failing_record_is_one_open_issue_counted_across_runs_and_closed_by_retry_after_a_fix_in_the_crm(
        connection, sandbox, actors):
    bad = sandbox.create_record("Accounts", {"Account_Name": "Bad Mail Ltd", "Account_Site": "not an email"})
    config = configure(connection, "customers", mappings=NAME_AND_SITE)

    first = sync(config)
    assert first.status == "partial"
    [issue] = issues_of(config)
    assert (issue.crm_module, issue.crm_id, issue.count, issue.closed_at) == ("Accounts", bad["id"], 1, None)
    assert "Email" in issue.message and issue.erp_id is None

    sandbox.edit_record("Accounts", bad["id"], {"Account_Site": "still@@wrong"})
    second = sync(config)
    assert second.status == "partial"
    [issue] = issues_of(config)  # the same open issue, counted again
    assert issue.count == 2 and issue.last_run_id == second.pk and issue.last_seen > issue.first_seen

    admin = actors.client_for(actors.admin)
    page = admin.get(reverse("sync:issues", args=["customers"]))
    assert page.status_code == 200
    assert bad["id"] in page.text and escape(issue.message) in page.text
    status = admin.get(reverse("sync:status", args=["customers"]))
    assert "1 open issue" in status.text

    sandbox.edit_record("Accounts", bad["id"], {"Account_Site": "billing@badmail.test"})
    response = admin.post(reverse("sync:issues_retry", args=["customers"]), {"issue": issue.pk}, follow=True)

    retry = SyncRun.objects.filter(module_config=config, trigger="retry").get()
    assert retry.status == "succeeded" and retry.failed == 0
    assert retry.api_calls <= 3  # the record by id, not the module again
    issue.refresh_from_db()
    assert issue.closed_at is not None and issue.closed_by_id == retry.pk
    customer = Customer.objects.get(pk=links_of(connection, "Accounts")[bad["id"]].erp_id)
    assert (customer.display_name, customer.email) == ("Bad Mail Ltd", "billing@badmail.test")
    assert "0 open issues left" in response.text
    closed = response.context["closed"]
    assert [c.pk for c in closed] == [issue.pk]
    assert "0 open issues" in admin.get(reverse("sync:status", args=["customers"])).text


def test_retry_all_by_command_lists_the_issues_and_closes_those_fixed_in_the_crm(connection, sandbox, actors):
    first = sandbox.create_record("Accounts", {"Account_Name": "First Bad", "Account_Site": "one at nowhere"})
    second = sandbox.create_record("Accounts", {"Account_Name": "Second Bad", "Account_Site": "two at nowhere"})
    third = sandbox.create_record("Accounts", {"Account_Name": "Third Bad", "Account_Site": "three at nowhere"})
    config = configure(connection, "customers", mappings=NAME_AND_SITE)
    sync(config)

    out = StringIO()
    call_command("crm_issues", "--org", actors.organization.name, "--module", "customers", "--json", stdout=out)
    listed = json.loads(out.getvalue())["open_issues"]
    assert sorted(i["crm_id"] for i in listed) == sorted([first["id"], second["id"], third["id"]])
    assert all(i["count"] == 1 and i["message"] for i in listed)

    sandbox.edit_record("Accounts", first["id"], {"Account_Site": "one@first.test"})
    sandbox.edit_record("Accounts", second["id"], {"Account_Site": "two@second.test"})
    out = StringIO()
    call_command("crm_issues", "--org", actors.organization.name, "--module", "customers", "--retry-all", "--json",
                 stdout=out)

    result = json.loads(out.getvalue())
    assert result["run"]["trigger"] == "retry" and result["run"]["status"] == "partial"
    assert [i["crm_id"] for i in result["open_issues"]] == [third["id"]]
    assert [i["count"] for i in result["open_issues"]] == [2]  # tried again, still failing
    links = links_of(connection, "Accounts")
    assert Customer.objects.get(pk=links[first["id"]].erp_id).email == "one@first.test"
    assert Customer.objects.get(pk=links[second["id"]].erp_id).email == "two@second.test"
    assert third["id"] not in links


def test_an_issue_the_erp_causes_links_to_the_record_edit_page(connection, sandbox, actors):
    """Both ways, a customer whose company name is longer than the CRM field it goes to: the CRM refuses it,
    and the issue says where to fix it here."""
    customer = CustomerFactory(organization=actors.organization, display_name="Long Name Co",
                               company_name="L" * 120)
    config = configure(connection, "customers", direction="both", mappings=[
        ("customer", "Accounts", "Account_Name", "text", "display_name", "both"),
        ("customer", "Accounts", "Account_Site", "text", "company_name", "both"),  # 80 characters there
    ])
    sync(config)

    [issue] = issues_of(config)
    assert (issue.crm_id, issue.erp_model, issue.erp_id) == ("", "customer", customer.pk) and issue.from_erp
    page = actors.client_for(actors.admin).get(reverse("sync:issues", args=["customers"]))
    assert reverse("customers:edit", args=[customer.pk]) in page.text

    Customer.objects.filter(pk=customer.pk).update(company_name="Long Name Company", updated_at=timezone.now())
    run = operator.issues_retry(module_config=config)
    assert run.trigger == "retry" and run.pushed == 1
    issue.refresh_from_db()
    assert issue.closed_at is not None
    crm_id = RecordLink.objects.get(erp_model="customer", erp_id=customer.pk).crm_id
    assert sandbox.get_record("Accounts", crm_id)["Account_Site"] == "Long Name Company"


def test_a_viewer_sees_open_issues_but_cannot_retry(connection, sandbox, actors):
    bad = sandbox.create_record("Accounts", {"Account_Name": "Bad Mail Ltd", "Account_Site": "not an email"})
    config = configure(connection, "customers", mappings=NAME_AND_SITE)
    sync(config)
    ops = actors.client_for(actors.ops)
    page = ops.get(reverse("sync:issues", args=["customers"]))
    assert page.status_code == 200 and bad["id"] in page.text
    assert '<button type="submit">Retry</button>' not in page.text and "retry-all" not in page.text
    assert ops.post(reverse("sync:issues_retry", args=["customers"])).status_code == 403
    assert not SyncRun.objects.filter(trigger="retry").exists()


# --- A hold on mass deletions ---------------------------------------------------------------------------------


@pytest.fixture
def many_accounts(connection, sandbox, actors):
    """Customers fetched from the CRM, one of them with an invoice and one made here first (linked by the
    Overwrite duplicate rule); then more than 10 % of the linked accounts deleted in the CRM, and one other
    account renamed."""
    made = sandbox.bulk("Accounts", create=[{"Account_Name": f"Mass {n:02d}"} for n in range(40)])["created"]
    here = CustomerFactory(organization=actors.organization, display_name="Mass 00")
    config = configure(connection, "customers", duplicate_action="overwrite")
    sync(config)
    links = links_of(connection, "Accounts")
    linked = len(links)
    count = max(21, linked // 10 + 1)
    gone = made[:count]
    assert links[gone[0]].erp_id == here.pk and count < len(made)
    InvoiceFactory(organization=actors.organization, customer_id=links[gone[1]].erp_id)
    sandbox.bulk("Accounts", delete=gone)
    renamed = made[-1]
    sandbox.edit_record("Accounts", renamed, {"Account_Name": "Mass renamed"})
    return {"config": config, "gone": gone, "links": links, "here": here, "renamed": renamed, "linked": linked}


def test_a_mass_delete_in_the_crm_is_held_while_the_rest_of_the_run_applies(connection, sandbox, many_accounts,
                                                                            actors):
    config, gone, links = many_accounts["config"], many_accounts["gone"], many_accounts["links"]
    mail.outbox.clear()

    run = sync(config)

    assert run.status == "succeeded" and run.deleted == 0
    held = {h.crm_id: h for h in HeldDeletion.objects.filter(module_config=config)}
    assert set(held) == set(gone) and all(h.run_id == run.pk for h in held.values())
    for crm_id in gone:  # nothing deleted, still linked
        assert Customer.objects.filter(pk=links[crm_id].erp_id).exists()
        assert RecordLink.objects.filter(pk=links[crm_id].pk, crm_deleted_at__isnull=True).exists()
    renamed = links[many_accounts["renamed"]]
    assert Customer.objects.get(pk=renamed.erp_id).display_name == "Mass renamed"
    assert Alert.objects.filter(kind="held", module="customers", resolved_at__isnull=True).count() == 1
    assert [m.subject for m in mail.outbox] == [f"[{actors.organization.name}] Customers sync: {AlertKind.HELD.label}"]

    sync(config)  # the next run holds nothing more and says nothing new
    assert HeldDeletion.objects.filter(module_config=config).count() == len(gone) and len(mail.outbox) == 1

    page = actors.client_for(actors.admin).get(reverse("sync:status", args=["customers"]))
    assert page.status_code == 200 and "Deletions waiting for approval" in page.text
    assert all(crm_id in page.text for crm_id in gone)


def test_approving_held_deletions_applies_the_deletion_rules_record_by_record(connection, sandbox, many_accounts,
                                                                              actors):
    config, gone, links = many_accounts["config"], many_accounts["gone"], many_accounts["links"]
    sync(config)
    admin = actors.client_for(actors.admin)

    response = admin.post(reverse("sync:held_decide", args=["customers"]), {"decision": "approve"}, follow=True)

    assert "Deletions applied" in response.text
    approval = SyncRun.objects.get(module_config=config, trigger="approval")
    assert approval.status == "succeeded"
    assert not HeldDeletion.objects.filter(module_config=config).exists()
    here, invoiced = many_accounts["here"], links[gone[1]].erp_id
    for crm_id in gone:
        assert sandbox_client(sandbox).get_records("Accounts", [crm_id], fields=["Account_Name"]) == []
        erp_id = links[crm_id].erp_id
        assert not RecordLink.objects.filter(connection=connection, crm_id=crm_id, crm_deleted_at__isnull=True).exists()
        if erp_id == here.pk:
            assert Customer.objects.filter(pk=erp_id, is_active=True).exists()  # made here: never deleted
        elif erp_id == invoiced:
            assert Customer.objects.filter(pk=erp_id, is_active=False).exists()  # has transactions: inactive
        else:
            assert not Customer.objects.filter(pk=erp_id).exists()
    assert approval.deleted == len(gone) - 2
    assert Alert.objects.get(kind="held").resolved_at is not None


def test_rejecting_held_deletions_keeps_the_records_unlinked_and_a_recreated_account_links_anew(
        connection, sandbox, many_accounts, actors):
    config, gone, links = many_accounts["config"], many_accounts["gone"], many_accounts["links"]
    sync(config)
    customers_before = Customer.objects.filter(organization=actors.organization).count()
    out = StringIO()
    call_command("crm_deletions", "--org", actors.organization.name, "--module", "customers", "--json", stdout=out)
    listed = json.loads(out.getvalue())["held"]
    assert sorted(h["crm_id"] for h in listed) == sorted(gone) and all(h["label"] for h in listed)

    out = StringIO()
    call_command("crm_deletions", "--org", actors.organization.name, "--module", "customers", "--reject",
                 "--ids", gone[2], gone[3], "--json", stdout=out)
    assert json.loads(out.getvalue())["rejected"] == 2
    call_command("crm_deletions", "--org", actors.organization.name, "--module", "customers", "--reject",
                 stdout=StringIO())

    assert not HeldDeletion.objects.filter(module_config=config).exists()
    assert Customer.objects.filter(organization=actors.organization).count() == customers_before
    for crm_id in gone:
        assert not RecordLink.objects.filter(connection=connection, crm_module="Accounts", crm_id=crm_id).exists()
        customer = Customer.objects.get(pk=links[crm_id].erp_id)
        assert customer.is_active and not customer.crm_linked

    name = Customer.objects.get(pk=links[gone[5]].erp_id).display_name
    again = sandbox.create_record("Accounts", {"Account_Name": name})
    sync(config)
    assert links_of(connection, "Accounts")[again["id"]].erp_id == links[gone[5]].erp_id  # Overwrite links anew
    assert Customer.objects.filter(organization=actors.organization).count() == customers_before


def test_up_to_the_threshold_deletions_apply_at_once_and_always_ask_holds_even_one(connection, sandbox, actors):
    made = sandbox.bulk("Accounts", create=[{"Account_Name": f"Few {n}"} for n in range(3)])["created"]
    config = configure(connection, "customers")
    assert (config.deletion_hold, config.hold_over, config.hold_over_percent) == ("threshold", 20, 10)
    sync(config)
    sandbox.bulk("Accounts", delete=made[:2])
    assert sync(config).deleted == 2

    ModuleConfig.objects.filter(pk=config.pk).update(deletion_hold="always")
    sandbox.bulk("Accounts", delete=made[2:])
    run = sync(config)
    assert run.deleted == 0 and [h.crm_id for h in HeldDeletion.objects.filter(module_config=config)] == made[2:]


# --- Alerts -------------------------------------------------------------------------------------------------


def test_alerts_go_once_per_incident_to_the_admins_who_want_email_and_say_when_it_clears(connection, sandbox,
                                                                                       actors):
    quiet = MembershipFactory(organization=actors.organization, role="admin")
    quiet.user.email = "quiet@acme.test"
    quiet.user.save()
    actors.admin.email = "admin@acme.test"
    actors.admin.save()
    settings_page = actors.client_for(actors.admin).get(reverse("settings"))
    assert "csrfmiddlewaretoken" in settings_page.text and "Sync alerts" in settings_page.text
    admin_membership = Membership.objects.get(user=actors.admin, organization=actors.organization)
    actors.client_for(actors.admin).post(reverse("settings"), {"admins": [admin_membership.pk]})
    assert not Membership.objects.get(pk=quiet.pk).alert_emails
    config = configure(connection, "customers")
    mail.outbox.clear()

    sandbox.config(error_rate_5xx=1.0)
    assert sync(config, max_attempts=2).status == "failed"
    assert sync(config, max_attempts=2).status == "failed"
    assert [m.to for m in mail.outbox] == [["admin@acme.test"]]
    assert "A sync failed" in mail.outbox[0].subject and "/sync/modules/customers/status/" in mail.outbox[0].body
    for user in (actors.admin, quiet.user):  # every admin is told in the app, once
        assert Notification.objects.filter(user=user, message__contains="run failed").count() == 1
    assert not Notification.objects.filter(user=actors.finance).exists()

    sandbox.config(error_rate_5xx=0.0)
    assert sync(config).status == "succeeded"
    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith(f"[{actors.organization.name}] Resolved")
    assert sync(config).status == "succeeded" and len(mail.outbox) == 2


def test_three_partial_runs_in_a_row_and_two_intervals_without_success_alert(connection, sandbox, actors):
    actors.admin.email = "admin@acme.test"
    actors.admin.save()
    sandbox.create_record("Accounts", {"Account_Name": "Bad Mail Ltd", "Account_Site": "not an email"})
    config = configure(connection, "customers", mappings=NAME_AND_SITE)
    mail.outbox.clear()
    for _ in range(3):
        assert sync(config).status == "partial"
        sandbox.bulk("Accounts", touch="all")
    assert [m.subject.split(": ", 1)[1] for m in mail.outbox] == ["Three syncs in a row partly failed"]

    alerts.check_all(now=timezone.now() + datetime.timedelta(minutes=2 * config.interval_minutes + 1))
    assert Alert.objects.filter(kind="stale", module="customers", resolved_at__isnull=True).exists()
    assert len(mail.outbox) == 2


# --- API credits ----------------------------------------------------------------------------------------------


def spent_earlier(config, amount: int, *, hours_ago: float = 1) -> SyncRun:
    """Credits a run spent earlier in the rolling window."""
    run = SyncRun.objects.create(module_config=config, trigger="scheduled", status="succeeded", credits=amount)
    SyncRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - datetime.timedelta(hours=hours_ago))
    return run


def test_a_run_that_reaches_the_credit_budget_stops_with_the_reason_and_goes_on_when_the_window_allows(
        connection, sandbox, actors):
    sandbox.bulk("Accounts", create=[{"Account_Name": f"Budget {n:03d}"} for n in range(450)])
    config = configure(connection, "customers")
    earlier = spent_earlier(config, credits.budget(connection) - 4)  # 4 credits left

    stopped = sync(config)

    assert stopped.status == "stopped" and "API credit budget" in stopped.failure_reason
    assert stopped.credits == 4
    applied = len(links_of(connection, "Accounts"))
    assert 0 < applied < 450
    assert Customer.objects.filter(organization=actors.organization).count() == applied
    status = actors.client_for(actors.admin).get(reverse("sync:status", args=["customers"]))
    assert "The API credit budget is used up" in status.text  # Instant Sync says why it waits
    refused = actors.client_for(actors.admin).post(reverse("sync:instant", args=["customers"]), follow=True)
    assert "API credit budget" in refused.text

    SyncRun.objects.filter(pk=earlier.pk).update(queued_at=timezone.now() - datetime.timedelta(hours=25))
    went_on = sync(config)

    assert went_on.status == "succeeded" and went_on.added == len(links_of(connection, "Accounts")) - applied
    links = links_of(connection, "Accounts")
    assert Customer.objects.filter(organization=actors.organization).count() == len(links)
    assert sum(1 for c in Customer.objects.filter(display_name__startswith="Budget ")) == 450


def test_the_crm_reporting_few_credits_left_stops_the_run_before_other_tools_share(connection, sandbox, actors):
    sandbox.bulk("Accounts", create=[{"Account_Name": f"Tight {n:03d}"} for n in range(450)])
    connection.credit_budget_percent = 100  # leave nothing to other tools: only the CRM's count stops us
    connection.save(update_fields=["credit_budget_percent"])
    config = configure(connection, "customers")
    sandbox.config(daily_credits=6)

    run = sync(config)

    assert run.status == "stopped" and "left today" in run.failure_reason
    assert sandbox.calls()["faults"].get("credits_exhausted", 0) == 0  # stopped before the CRM had to refuse
    connection.refresh_from_db()
    assert connection.credits_remaining is not None and connection.credits_remaining <= 3


# --- A mapped field that changes in the CRM -----------------------------------------------------------------


@pytest.fixture
def region_mapped(connection, sandbox):
    crm = sandbox_client(sandbox)
    assert crm.create_field("Accounts", {"field_label": "Region", "data_type": "text", "length": 60}).ok
    account = sandbox.create_record("Accounts", {"Account_Name": "Region Co", "Region": "North"})
    config = configure(connection, "customers", mappings=[
        ("customer", "Accounts", "Account_Name", "text", "display_name", "both"),
        ("customer", "Accounts", "Region", "text", "billing_city", "fetch"),
    ])
    assert sync(config).status == "succeeded"
    customer = Customer.objects.get(pk=links_of(connection, "Accounts")[account["id"]].erp_id)
    assert customer.billing_city == "North"
    return {"config": config, "account": account, "customer": customer}


@pytest.mark.parametrize("change", ["rename", "delete", "retype"])
def test_a_mapped_field_changed_in_the_crm_stops_the_run_before_anything_is_written(connection, sandbox, actors,
                                                                                  region_mapped, change):
    config, account, customer = region_mapped["config"], region_mapped["account"], region_mapped["customer"]
    actors.admin.email = "admin@acme.test"
    actors.admin.save()
    mail.outbox.clear()
    if change == "rename":
        sandbox.change_field("Accounts", "Region", api_name="Sales_Region")
    elif change == "delete":
        sandbox.delete_field("Accounts", "Region")
    else:
        sandbox.change_field("Accounts", "Region", data_type="multiselectpicklist")
    sandbox.edit_record("Accounts", account["id"], {"Account_Name": "Region Co renamed"})
    CrmFieldCache.objects.update(read_at=timezone.now() - datetime.timedelta(days=1, minutes=1))  # a day on

    run = sync(config)

    assert run.status == "failed"
    assert "Region" in run.failure_reason and "Billing city" in run.failure_reason
    customer.refresh_from_db()
    assert (customer.display_name, customer.billing_city) == ("Region Co", "North")  # nothing written
    assert [p["crm_field"] for p in ModuleConfig.objects.get(pk=config.pk).broken_mapping] == ["Region"]
    assert [m.subject.split(": ", 1)[1] for m in mail.outbox] == [AlertKind.FIELD_GONE.label]
    assert "data-testid=\"broken-pair\"" in actors.client_for(actors.admin).get(
        reverse("integration:configure", args=["customers"])).text

    if change == "rename":
        FieldMapping.objects.filter(module_config=config, crm_field="Region").update(crm_field="Sales_Region")
    else:
        FieldMapping.objects.filter(module_config=config, crm_field="Region").delete()
    fixed = sync(config)

    assert fixed.status == "succeeded" and fixed.updated == 1  # goes on from the cursor
    customer.refresh_from_db()
    assert customer.display_name == "Region Co renamed" and customer.billing_city == "North"
    assert ModuleConfig.objects.get(pk=config.pk).broken_mapping == []
    assert mail.outbox[-1].subject.startswith(f"[{actors.organization.name}] Resolved")


def test_a_field_renamed_after_the_metadata_was_cached_is_caught_when_the_crm_says_it_is_unknown(
        connection, sandbox, region_mapped):
    config, customer = region_mapped["config"], region_mapped["customer"]
    sandbox.change_field("Accounts", "Region", api_name="Sales_Region")  # the cache (read by the first run) is fresh
    sandbox.edit_record("Accounts", region_mapped["account"]["id"], {"Account_Name": "Region Co renamed"})

    run = sync(config)

    assert run.status == "failed" and "Region" in run.failure_reason
    customer.refresh_from_db()
    assert customer.display_name == "Region Co"


# --- Health -------------------------------------------------------------------------------------------------------


def test_crm_health_prints_each_module_and_the_credits(connection, sandbox, actors):
    sandbox.create_record("Accounts", {"Account_Name": "Bad Mail Ltd", "Account_Site": "not an email"})
    config = configure(connection, "customers", mappings=NAME_AND_SITE)
    run = sync(config)
    out = StringIO()
    call_command("crm_health", "--org", actors.organization.name, "--json", stdout=out)
    data = json.loads(out.getvalue())
    [module] = data["modules"]
    assert module["module"] == "customers" and module["health"] == "warning" and module["open_issues"] == 1
    assert data["credits"]["used"] == run.credits > 0
    assert data["credits"]["budget"] == credits.allowance(connection) * 80 // 100


def test_the_history_charts_records_and_failures_per_day_over_30_days(connection, sandbox, actors):
    sandbox.create_record("Accounts", {"Account_Name": "Bad Mail Ltd", "Account_Site": "not an email"})
    config = configure(connection, "customers", mappings=NAME_AND_SITE)
    today = sync(config)
    old = SyncRun.objects.create(module_config=config, trigger="scheduled", status="succeeded", added=7)
    SyncRun.objects.filter(pk=old.pk).update(queued_at=timezone.now() - datetime.timedelta(days=3))
    SyncRun.objects.create(module_config=config, trigger="scheduled", status="succeeded", added=99)
    SyncRun.objects.filter(added=99).update(queued_at=timezone.now() - datetime.timedelta(days=31))

    page = actors.client_for(actors.admin).get(reverse("sync:history"))

    chart = page.context["daily"]
    assert len(chart["bars"]) == 30
    last, three_ago = chart["bars"][-1], chart["bars"][-4]
    assert (last["records"], last["failed"]) == (today.added + today.updated, 1)
    assert (three_ago["records"], three_ago["failed"]) == (7, 0)
    assert sum(b["records"] for b in chart["bars"]) == 7 + today.added + today.updated  # 31 days ago is out
    assert chart["ticks"][-1]["value"] == max(b["records"] + b["failed"] for b in chart["bars"])
    text = page.text
    assert f"{timezone.localdate():%Y-%m-%d}: {last['records']} synced, 1 failed" in text
    assert "Records synced (added, updated, deleted, pushed)" in text and "Records that failed" in text
