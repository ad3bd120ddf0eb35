"""An admin fixes a failing record themselves: the Zoho CRM page shows the module's trouble, its open
issues say what and where, the record is fixed in the ERP, Retry syncs it and the issue closes."""

import re

import pytest
from playwright.sync_api import expect

from sync.models import OpenIssue, RecordLink
from tests.factories import CustomerFactory
from tests.sync.conftest import configure, sync

from .test_erp_flow import log_in

pytestmark = pytest.mark.browser


def test_admin_sees_a_failing_module_opens_its_issues_fixes_the_record_and_retries(page, live_server, actors,
                                                                                  sandbox, connection, screenshot):
    customer = CustomerFactory(organization=actors.organization, display_name="Overlong Site Co",
                               company_name="Overlong " * 12)  # the CRM field it goes to holds 80 characters
    config = configure(connection, "customers", direction="both", mappings=[
        ("customer", "Accounts", "Account_Name", "text", "display_name", "both"),
        ("customer", "Accounts", "Account_Site", "text", "company_name", "both"),
    ])
    assert sync(config).status == "partial"

    log_in(page, live_server, actors.admin.username)
    page.goto(f"{live_server.url}/settings/zoho/crm/")
    row = page.get_by_test_id("health").locator("tr[data-module=customers]")
    expect(row.get_by_test_id("health-state")).to_have_text("Warning")
    expect(row).to_contain_text("1 record fails to sync")
    screenshot("60-zoho-crm-health")
    row.get_by_test_id("open-issues").click()

    issues = page.get_by_test_id("open-issues")
    expect(issues).to_contain_text("Overlong Site Co")
    expect(issues).to_contain_text("The CRM refused the record")
    expect(issues).to_contain_text("at most 80 characters")
    screenshot("61-open-issues")
    issues.get_by_test_id("fix-here").click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/edit/$"))
    page.get_by_label("Company name").fill("Overlong Site Company")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))

    page.go_back()
    page.go_back()
    page.reload()
    page.get_by_test_id("open-issues").get_by_role("button", name="Retry").click()
    expect(page.locator(".messages")).to_contain_text("0 open issues left")
    expect(page.get_by_test_id("no-issues")).to_be_visible()
    expect(page.get_by_test_id("closed-issues")).to_contain_text("The CRM refused the record")
    screenshot("62-issue-closed")

    assert OpenIssue.objects.get(module_config=config).closed_at is not None
    crm_id = RecordLink.objects.get(erp_model="customer", erp_id=customer.pk).crm_id
    assert sandbox.get_record("Accounts", crm_id)["Account_Site"] == "Overlong Site Company"
