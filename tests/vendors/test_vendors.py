"""Vendors and bills."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import BillFactory, CustomFieldFactory, VendorFactory
from vendors.models import Bill, Vendor


def test_finance_creates_a_vendor_with_custom_fields(actors):
    CustomFieldFactory(organization=actors.organization, module="vendors", label="Payment terms",
                       api_name="Payment_terms", data_type="number")
    client = actors.client_for(actors.finance)
    response = client.post(
        reverse("vendors:create"),
        {"display_name": "Stark Supplies", "email": "ar@stark.example", "currency": "usd", "cf__Payment_terms": "30"},
    )
    vendor = Vendor.objects.get()
    assert response["Location"] == reverse("vendors:detail", args=[vendor.pk])
    assert vendor.currency == "USD" and vendor.custom_fields == {"Payment_terms": 30}


def test_invalid_vendor_is_refused_with_a_reason(actors):
    response = actors.client_for(actors.finance).post(
        reverse("vendors:create"), {"display_name": "", "email": "broken@"}
    )
    content = response.content.decode()
    assert "This field is required." in content and "Enter a valid email address." in content
    assert not Vendor.objects.exists()


def test_a_member_can_own_a_vendor_and_the_detail_page_names_them(actors):
    client = actors.client_for(actors.finance)
    client.post(reverse("vendors:create"), {"display_name": "Stark Supplies", "owner": actors.ops.pk})
    vendor = Vendor.objects.get()
    assert vendor.owner == actors.ops
    page = client.get(reverse("vendors:detail", args=[vendor.pk])).content.decode()
    assert f'data-testid="owner">{actors.ops.email}<' in page


def test_a_vendor_owner_from_another_organization_is_refused(actors):
    response = actors.client_for(actors.finance).post(
        reverse("vendors:create"), {"display_name": "Stark Supplies", "owner": actors.outsider.pk}
    )
    assert "owner" in response.context["form"].errors
    assert not Vendor.objects.exists()


def test_vendor_list_search_and_inactive_filter(actors):
    VendorFactory(organization=actors.organization, display_name="Paper Mill")
    VendorFactory(organization=actors.organization, display_name="Ink House", is_active=False)
    client = actors.client_for(actors.ops)
    found = client.get(reverse("vendors:list"), {"q": "paper"}).context["state"].page
    assert [v.display_name for v in found] == ["Paper Mill"]
    inactive = client.get(reverse("vendors:list"), {"view": "inactive"}).context["state"].page
    assert [v.display_name for v in inactive] == ["Ink House"]


def test_bill_is_saved_and_the_vendor_shows_payables(actors):
    vendor = VendorFactory(organization=actors.organization)
    client = actors.client_for(actors.finance)
    response = client.post(
        reverse("vendors:bill_create"),
        {"vendor": vendor.pk, "number": "B-77", "date": "2026-05-01", "due_date": "2026-05-15",
         "total": "800", "amount_paid": "300", "status": "open"},
    )
    assert response.status_code == 302
    bill = Bill.objects.get()
    assert bill.balance == Decimal("500")
    assert vendor.payables() == {"total_purchases": Decimal("800"), "outstanding": Decimal("500")}


def test_a_bill_for_another_organizations_vendor_is_refused(actors):
    theirs = VendorFactory(organization=actors.other_organization)
    response = actors.client_for(actors.finance).post(
        reverse("vendors:bill_create"),
        {"vendor": theirs.pk, "number": "B-1", "date": "2026-05-01", "due_date": "2026-05-15", "total": "8",
         "status": "open"},
    )
    assert "Select a valid choice." in response.content.decode()
    assert not Bill.objects.exists()


@pytest.mark.parametrize("value", ["²", "١٢", "12a", "-1", "0", str(2**63)])  # "²" passes str.isdigit()
def test_new_bill_ignores_a_vendor_that_is_not_an_id(actors, value):
    VendorFactory(organization=actors.organization, pk=2)
    page = actors.client_for(actors.finance).get(reverse("vendors:bill_create"), {"vendor": value})
    assert page.status_code == 200
    assert "vendor" not in page.context["form"].initial


def test_new_bill_from_a_vendor_preselects_it(actors):
    vendor = VendorFactory(organization=actors.organization)
    page = actors.client_for(actors.finance).get(reverse("vendors:bill_create"), {"vendor": vendor.pk})
    assert page.context["form"].initial["vendor"] == vendor.pk


def test_duplicate_bill_number_for_the_same_vendor_is_refused(actors):
    bill = BillFactory(vendor__organization=actors.organization, number="B-5")
    response = actors.client_for(actors.finance).post(
        reverse("vendors:bill_create"),
        {"vendor": bill.vendor.pk, "number": "B-5", "date": "2026-05-01", "due_date": "2026-05-15", "total": "8",
         "status": "open"},
    )
    assert "already has a bill with this number" in response.content.decode()


def test_deactivating_a_vendor(actors):
    vendor = VendorFactory(organization=actors.organization)
    actors.client_for(actors.admin).post(reverse("vendors:toggle_active", args=[vendor.pk]))
    vendor.refresh_from_db()
    assert not vendor.is_active


def test_the_vendor_lookup_searches_by_the_first_100_characters_typed(actors):
    VendorFactory(organization=actors.organization, display_name="Q" * 100 + " Paper")
    client = actors.client_for(actors.finance)
    found = client.get(reverse("vendors:lookup"), {"q": "Q" * 100 + " and 10,000 more characters" * 400})
    assert found.status_code == 200 and "Q" * 100 + " Paper" in found.content.decode()
