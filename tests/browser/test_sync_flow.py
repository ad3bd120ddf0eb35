"""Configure customers, Save and Sync, watch the run, open the history and a run's issues — with a
real Celery worker syncing against the sandbox. CRM data with markup shows as text."""

import re

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from tests.factories import CustomerFactory
from tests.sandbox import crm_records, sandbox_client

from .test_erp_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]

HOSTILE = "<script>alert(1)</script>"


def test_save_and_sync_then_history_and_issues(page, live_server, actors, sandbox, connection, celery_worker,
                                               screenshot):
    sandbox.create_record("Accounts", {"Account_Name": HOSTILE})
    existing = next(a for a in crm_records(sandbox_client(sandbox), "Accounts", fields=["Account_Name"])
                    if a["Account_Name"] != HOSTILE)
    CustomerFactory(organization=actors.organization, display_name=existing["Account_Name"])
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    log_in(page, live_server, actors.admin.username)
    page.goto(f"{live_server.url}/settings/zoho/crm/configure/customers/")
    page.get_by_label("Skip").check()
    page.get_by_role("button", name="Save and Sync", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("the sync is queued")
    page.get_by_test_id("modules").get_by_role("row", name="Customers").get_by_role("link", name="Check Status").click()
    # The status refreshes by itself until the run has finished.
    expect(page.get_by_test_id("last-run")).to_contain_text("added", timeout=60_000)
    expect(page.get_by_test_id("current-run")).to_contain_text("No sync is running")
    screenshot("50-sync-status")

    page.get_by_role("link", name="Show Sync History").click()
    runs = page.get_by_test_id("runs")
    expect(runs).to_contain_text("Initial sync")
    screenshot("51-sync-history")
    runs.get_by_role("link").first.click()
    issues = page.get_by_test_id("issues")
    expect(issues).to_contain_text("Skipped")
    expect(issues).to_contain_text(existing["Account_Name"])
    screenshot("52-sync-run-issues")

    assert Customer.objects.filter(organization=actors.organization, display_name=HOSTILE).exists()
    page.goto(f"{live_server.url}/sales/customers/?view=crm&q=script")
    expect(page.get_by_test_id("customer-table")).to_contain_text(HOSTILE)
    page.get_by_role("link", name=HOSTILE).click()
    expect(page.get_by_role("heading", name=HOSTILE)).to_be_visible()
    assert dialogs == []
    expect(page).to_have_url(re.compile(r"/sales/customers/\d+/$"))
