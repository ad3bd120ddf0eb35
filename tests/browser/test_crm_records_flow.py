"""New Invoice → Advanced Customer Search → Zoho CRM tab → Account Name, Search → select an account, or a
contact listed under it → the invoice is saved for the imported customer, who is listed under CRM Customers."""

import re

import pytest
from playwright.sync_api import expect

from customers.models import Customer, Invoice
from tests.sandbox import crm_records, sandbox_client

from .test_erp_flow import log_in

pytestmark = pytest.mark.browser


def test_finance_imports_a_crm_account_from_new_invoice(page, live_server, actors, sandbox, connection, screenshot):
    account = next(crm_records(sandbox_client(sandbox), "Accounts", fields=["Account_Name"], per_page=5))
    log_in(page, live_server, actors.finance.username)
    page.goto(f"{live_server.url}/sales/invoices/new/")
    page.get_by_role("button", name="Advanced Customer Search").click()
    dialog = page.locator("#advanced-search")
    expect(dialog).to_be_visible()
    dialog.get_by_role("tab", name="Zoho CRM").click()
    dialog.get_by_label("Account Name").fill(account["Account_Name"])
    dialog.get_by_role("button", name="Search").click()
    hit = dialog.get_by_test_id("crm-hit").filter(has_text=account["Account_Name"]).first
    expect(hit).to_be_visible()
    screenshot("40-advanced-search-crm")
    hit.click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#customer-search")).to_have_value(account["Account_Name"])
    page.get_by_label("Total").fill("750.00")
    page.get_by_role("button", name="Save invoice").click()
    expect(page.get_by_test_id("total-sales")).to_have_text(re.compile(r"750\.00$"))
    customer = Customer.objects.get(organization=actors.organization, display_name=account["Account_Name"])
    assert Invoice.objects.get().customer == customer

    page.goto(f"{live_server.url}/sales/customers/?view=crm")
    row = page.get_by_test_id("customer-table").get_by_role("row", name=re.compile(re.escape(account["Account_Name"])))
    expect(row).to_contain_text("CRM")
    screenshot("41-crm-customers")


def test_a_contact_listed_under_its_account_is_selected_and_its_customer_picked(page, live_server, actors, sandbox,
                                                                               connection):
    from tests.sync.checks import account_with_contacts

    account, contacts = account_with_contacts(sandbox)
    log_in(page, live_server, actors.finance.username)
    page.goto(f"{live_server.url}/sales/invoices/new/")
    page.get_by_role("button", name="Advanced Customer Search").click()
    dialog = page.locator("#advanced-search")
    # The ERP tab lists this organization's customers before anything is typed (none yet here).
    expect(dialog.get_by_test_id("erp-results")).to_contain_text("No matching customers.")
    dialog.get_by_role("tab", name="Zoho CRM").click()
    dialog.get_by_label("Account Name").fill(account["Account_Name"])
    dialog.get_by_role("button", name="Search").click()
    name = " ".join(p for p in (contacts[0].get("First_Name"), contacts[0]["Last_Name"]) if p)
    dialog.locator("ul.contacts").get_by_test_id("crm-hit").filter(has_text=name).first.click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#customer-search")).to_have_value(account["Account_Name"])
    customer = Customer.objects.get(organization=actors.organization)
    assert customer.display_name == account["Account_Name"]
    assert customer.contact_persons.filter(last_name=contacts[0]["Last_Name"]).exists()
