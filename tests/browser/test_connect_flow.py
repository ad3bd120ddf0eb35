"""An admin connects the CRM sandbox in a real browser: Zoho Apps → Connect → consent → Select Organization."""

import re

import pytest
from playwright.sync_api import expect

from integration.models import CrmConnection

from .test_erp_flow import log_in

pytestmark = pytest.mark.browser


def test_admin_connects_zoho_crm_and_sees_the_details(page, live_server, actors, sandbox, screenshot):
    log_in(page, live_server, actors.admin.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Zoho Apps").click()
    screenshot("20-zoho-apps")
    page.get_by_role("link", name="Connect").click()
    expect(page.get_by_test_id("shared-organization")).to_contain_text(actors.organization.name)
    screenshot("21-connect")
    page.get_by_role("button", name="Continue to Zoho").click()
    # The sandbox's consent page, on the CRM's own host.
    expect(page).to_have_url(re.compile(re.escape(sandbox.base_url) + r"/oauth/v2/auth"))
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("heading", name="Select Organization")).to_be_visible()
    screenshot("22-select-organization")
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("connection-status")).to_have_text("Active")
    expect(page.get_by_test_id("direction")).to_contain_text("Both ways: modules set to Sync both ways")
    expect(page.get_by_test_id("modules")).to_contain_text("Not configured")
    screenshot("23-zoho-crm-details")
    connection = CrmConnection.objects.get(organization=actors.organization)
    expect(page.get_by_test_id("crm-org")).to_contain_text(connection.crm_org_id)

    page.get_by_role("link", name="Disable Integration").click()
    page.get_by_label("Yes, I understand").check()
    page.get_by_role("button", name="Disable Integration").click()
    expect(page.get_by_test_id("connection-status")).to_have_text("Disabled")
    page.get_by_role("link", name="Enable Integration").click()
    page.get_by_label("Yes, I understand").check()
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("connection-status")).to_have_text("Active")


def test_a_refused_prerequisite_is_shown_in_the_browser(page, live_server, actors, sandbox):
    sandbox.set_org(paid_type="standard")
    log_in(page, live_server, actors.admin.username)
    page.goto(f"{live_server.url}/settings/zoho/connect/")
    page.get_by_role("button", name="Continue to Zoho").click()
    page.get_by_role("button", name="Accept").click()
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_test_id("refusal")).to_contain_text("Professional or a higher edition is needed")
    assert not CrmConnection.objects.exists()
