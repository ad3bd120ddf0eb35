"""A finance user works through the ERP in a real browser: customers, contact persons, search,
invoices with the htmx customer picker, and the rest of the navigation."""

import re

import pytest
from playwright.sync_api import expect

from customers.models import Customer, Invoice

from ..factories import PASSWORD, BillFactory, CustomerFactory, ItemFactory

pytestmark = pytest.mark.browser


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/sales/customers/$"))


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_finance_user_creates_a_customer_finds_it_and_invoices_it(page, live_server, actors, screenshot):
    organization = actors.organization
    CustomerFactory(organization=organization, display_name="Contoso Ltd")
    BillFactory(vendor__organization=organization, vendor__display_name="Fabrikam Supplies")
    ItemFactory(organization=organization, name="Consulting hour")

    page.goto(live_server.url)
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    screenshot("01-login")
    page.get_by_label("Username").fill(actors.finance.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()

    main_nav(page).get_by_role("link", name="Customers").click()
    expect(page).to_have_url(re.compile(r"/sales/customers/$"))
    page.get_by_role("link", name="New customer").click()
    expect(page.get_by_role("heading", name="New customer")).to_be_visible()
    page.get_by_label("Display name").fill("Northwind Traders")
    page.get_by_label("Email", exact=True).fill("billing@northwind.example")
    page.locator("[name=contacts-0-first_name]").fill("Nancy")
    page.locator("[name=contacts-0-last_name]").fill("Davolio")
    page.locator("[name=contacts-0-is_primary]").check()
    screenshot("03-customer-form")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(r"/sales/customers/\d+/$"))
    expect(page.get_by_role("heading", name="Northwind Traders")).to_be_visible()
    contact_persons = page.get_by_test_id("contact-persons")
    expect(contact_persons).to_contain_text("Nancy Davolio")
    expect(contact_persons).to_contain_text("Primary")

    main_nav(page).get_by_role("link", name="Customers").click()
    page.get_by_role("searchbox", name="Search").fill("wind")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"[?&]q=wind"))
    customer_table = page.get_by_test_id("customer-table")
    expect(customer_table.get_by_role("link", name="Northwind Traders")).to_be_visible()
    expect(customer_table.get_by_role("link", name="Contoso Ltd")).to_have_count(0)
    screenshot("02-customer-list")

    customer_table.get_by_role("link", name="Northwind Traders").click()
    expect(page.get_by_role("heading", name="Northwind Traders")).to_be_visible()
    page.get_by_role("link", name="New invoice").click()
    expect(page.get_by_role("heading", name="New invoice")).to_be_visible()
    customer = Customer.objects.get(organization=organization, display_name="Northwind Traders")
    expect(page.locator("#customer-search")).to_have_value("Northwind Traders")
    expect(page.locator("#invoice-form [name=customer]")).to_have_value(str(customer.pk))
    # A number input takes no thousands separator; the page shows 1,250.00 afterwards.
    page.get_by_label("Total").fill("1250.00")
    page.get_by_label("Amount paid").fill("200.00")
    screenshot("06-invoice-form")
    page.get_by_role("button", name="Save invoice").click()

    expect(page).to_have_url(re.compile(rf"/sales/customers/{customer.pk}/$"))
    expect(page.get_by_test_id("outstanding")).to_have_text("USD 1,050.00")
    expect(page.get_by_test_id("total-sales")).to_have_text("USD 1,250.00")
    screenshot("04-customer-detail")

    for link, heading, name in [
        ("Invoices", "Invoices", "05-invoice-list"),
        ("Vendors", "Vendors", "07-vendor-list"),
        ("Bills", "Bills", "08-bill-list"),
        ("Items", "Items", "09-item-list"),
        ("Settings", "Settings", "10-settings"),
    ]:
        main_nav(page).get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(main_nav(page).get_by_role("link", name=link, exact=True)).to_have_class("active")
        screenshot(name)


def test_new_invoice_picks_the_customer_from_the_search_suggestions(page, live_server, actors, screenshot):
    organization = actors.organization
    customer = CustomerFactory(organization=organization, display_name="Wide World Importers")
    CustomerFactory(organization=organization, display_name="Tailspin Toys")
    log_in(page, live_server, actors.finance.username)

    main_nav(page).get_by_role("link", name="Invoices").click()
    page.get_by_role("link", name="New invoice").click()
    expect(page.get_by_role("heading", name="New invoice")).to_be_visible()
    expect(page.locator("#customer-search")).to_have_value("")
    page.locator("#customer-search").fill("world")
    suggestion = page.locator("#customer-options .pick", has_text="Wide World Importers")
    expect(suggestion).to_be_visible()
    expect(page.locator("#customer-options .pick")).to_have_count(1)
    screenshot("11-invoice-customer-suggestions")
    suggestion.click()
    expect(page.locator("#customer-search")).to_have_value("Wide World Importers")
    expect(page.locator("#invoice-form [name=customer]")).to_have_value(str(customer.pk))
    expect(page.locator("#customer-options .pick")).to_have_count(0)
    number = page.get_by_label("Number").input_value()
    page.get_by_label("Total").fill("300.00")
    page.get_by_role("button", name="Save invoice").click()

    expect(page).to_have_url(re.compile(rf"/sales/customers/{customer.pk}/$"))
    expect(page.get_by_test_id("total-sales")).to_contain_text("300.00")
    invoice = Invoice.objects.get(organization=organization, number=number)
    assert invoice.customer == customer


def test_editing_the_customer_search_without_picking_does_not_keep_the_earlier_customer(
    page, live_server, actors
):
    chosen = CustomerFactory(organization=actors.organization, display_name="Wide World Importers")
    CustomerFactory(organization=actors.organization, display_name="Tailspin Toys")
    log_in(page, live_server, actors.finance.username)

    page.goto(f"{live_server.url}/sales/invoices/new/?customer={chosen.pk}")
    expect(page.locator("#customer-search")).to_have_value("Wide World Importers")
    page.locator("#customer-search").fill("Tailspin")
    expect(page.locator("#customer-options .pick")).to_have_count(1)
    page.get_by_label("Total").fill("300.00")
    page.get_by_role("button", name="Save invoice").click()

    expect(page.get_by_text("Choose a customer.")).to_be_visible()
    assert not Invoice.objects.filter(organization=actors.organization).exists()


def test_hostile_customer_name_is_shown_as_text_and_never_runs(page, live_server, actors):
    hostile = "<script>alert(1)</script>"
    customer = CustomerFactory(organization=actors.organization, display_name=hostile, company_name="")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server, actors.finance.username)

    link = page.get_by_test_id("customer-table").get_by_role("link", name=hostile)
    expect(link).to_be_visible()
    expect(link).to_have_text(hostile)
    link.click()
    expect(page).to_have_url(re.compile(rf"/sales/customers/{customer.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(hostile)

    # The htmx picker swaps server HTML into the page: the suggestion must stay text too.
    page.get_by_role("link", name="New invoice").click()
    expect(page.locator("#customer-search")).to_have_value(hostile)
    page.locator("#customer-search").fill("script")
    expect(page.locator("#customer-options .pick")).to_contain_text(hostile)

    assert dialogs == []
