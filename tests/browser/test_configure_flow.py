"""An admin configures customers in a real browser: Accounts & their Contacts, both ways, overwrite, a view,
a custom field created from the mapping page, Save and Sync Later."""

import pytest
from playwright.sync_api import expect

from integration.models import FieldMapping, ModuleConfig
from organizations.models import CustomField

from .test_erp_flow import log_in

pytestmark = pytest.mark.browser


def test_admin_configures_customers_from_the_details_page(page, live_server, actors, sandbox, connection, screenshot):
    log_in(page, live_server, actors.admin.username)
    page.goto(f"{live_server.url}/settings/zoho/crm/")
    page.get_by_test_id("modules").get_by_role("row", name="Customers").get_by_role("link", name="Configure Now").click()
    page.get_by_label("Accounts & their Contacts").check()
    # The page reloads for the chosen CRM module: now it maps contact persons too.
    expect(page.get_by_test_id("mapping-contact_person")).to_be_visible()
    page.get_by_role("button", name="Create custom field for Industry").click()
    expect(page.locator(".messages")).to_contain_text("Custom field “Industry” created")
    expect(page.get_by_label("Accounts & their Contacts")).to_be_checked()
    page.get_by_label("Include contacts that are not associated to any accounts").check()
    page.get_by_label("Sync both ways").check()
    page.get_by_label("Overwrite").check()
    page.get_by_label("Select the Accounts view to be synced").select_option(label="Technology Accounts")
    screenshot("30-configure-customers")
    page.get_by_role("button", name="Save and Sync Later").click()
    expect(page.get_by_test_id("modules").get_by_role("row", name="Customers")).to_contain_text("Configured")
    expect(page.get_by_test_id("modules").get_by_role("row", name="Customers").get_by_role("link", name="Edit")).to_be_visible()
    screenshot("31-details-configured")

    config = ModuleConfig.objects.get(connection=connection, module="customers")
    assert (config.crm_source, config.direction, config.duplicate_action, config.include_orphan_contacts) == (
        "accounts_and_contacts", "both", "overwrite", True)
    assert config.crm_view_id
    assert CustomField.objects.filter(organization=actors.organization, api_name="Industry").exists()
    assert FieldMapping.objects.filter(module_config=config, erp_field="cf:Industry", crm_field="Industry").exists()


def test_choosing_sku_hides_clone(page, live_server, actors, sandbox, connection):
    log_in(page, live_server, actors.admin.username)
    page.goto(f"{live_server.url}/settings/zoho/crm/configure/items/")
    clone = page.get_by_label("Clone")
    by_name, by_sku = (page.locator(f"input[name=duplicate_key][value={key}]") for key in ("name", "sku"))
    by_name.check()
    clone.check()
    expect(clone).to_be_visible()
    by_sku.check()
    expect(clone).to_be_hidden()
    expect(page.get_by_label("Overwrite")).to_be_checked()
    by_name.check()
    expect(clone).to_be_visible()
