"""An admin previews the first sync, accepts two suggested duplicates, saves and syncs, and finds the two
customers linked rather than made twice."""

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from sync.models import RecordLink, SyncRun
from tests.factories import CustomerFactory

from .test_erp_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_admin_previews_accepts_two_suggestions_and_the_sync_links_them(page, live_server, actors, sandbox,
                                                                      connection, celery_worker, screenshot):
    baker = CustomerFactory(organization=actors.organization, display_name="Müller Bäckerei GmbH")
    traders = CustomerFactory(organization=actors.organization, display_name="Quokka Provisions Limited")
    sandbox.create_record("Accounts", {"Account_Name": "MULLER BACKEREI GMBH"})
    sandbox.create_record("Accounts", {"Account_Name": "Quokka Provisions Ltd"})

    log_in(page, live_server, actors.admin.username)
    page.goto(f"{live_server.url}/settings/zoho/crm/configure/customers/")
    page.get_by_label("Accounts", exact=True).check()
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview-counts")).to_contain_text("Created here")
    suggestions = page.get_by_test_id("suggestion-table")
    expect(suggestions).to_contain_text("MULLER BACKEREI GMBH")
    screenshot("70-preview")
    for name in ("MULLER BACKEREI GMBH", "Quokka Provisions Ltd"):
        suggestions.get_by_role("row", name=name).get_by_role("button", name="Accept").click()
        expect(page.get_by_test_id("suggestion-table").get_by_role("row", name=name)).to_contain_text("Same party")
    page.get_by_test_id("preview-again").click()
    expect(page.get_by_test_id("preview-counts")).to_contain_text("Linked: accepted duplicates")
    expect(page.get_by_test_id("count-link_suggestion")).to_have_text("2")
    screenshot("71-preview-accepted")
    page.get_by_test_id("preview-save-sync").click()
    expect(page.get_by_test_id("last-run")).to_contain_text("added", timeout=60_000)

    run = SyncRun.objects.get(module_config__module="customers")
    assert run.status == "succeeded" and run.trigger == "initial"
    for customer in (baker, traders):
        assert RecordLink.objects.filter(erp_model="customer", erp_id=customer.pk).exists()
    # Linked as Overwrite links: the CRM goes first for customers, so they now carry the CRM's spelling, once.
    assert Customer.objects.filter(display_name__iexact="MULLER BACKEREI GMBH").get().pk == baker.pk
    assert Customer.objects.filter(display_name__startswith="Quokka Provisions").get().pk == traders.pk
