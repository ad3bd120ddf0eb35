"""Customers and their contact persons: create, edit, validate, list, deactivate."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import ContactPerson, Customer
from tests.factories import ContactPersonFactory, CustomerFactory, CustomFieldFactory, InvoiceFactory


def customer_post(**overrides):
    data = {
        "customer_type": "business",
        "display_name": "Wayne Enterprises",
        "company_name": "Wayne Enterprises Inc.",
        "email": "ap@wayne.example",
        "currency": "usd",
        "contacts-TOTAL_FORMS": "2",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-first_name": "Lucius",
        "contacts-0-last_name": "Fox",
        "contacts-0-email": "lucius@wayne.example",
        "contacts-0-is_primary": "on",
        "contacts-1-first_name": "",
        "contacts-1-last_name": "",
    }
    data.update(overrides)
    return data


def test_finance_creates_a_customer_with_a_contact_person(actors):
    response = actors.client_for(actors.finance).post(reverse("customers:create"), customer_post())
    customer = Customer.objects.get(organization=actors.organization)
    assert response.status_code == 302 and response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert customer.display_name == "Wayne Enterprises" and customer.currency == "USD"
    person = customer.contact_persons.get()
    assert (person.first_name, person.last_name, person.is_primary) == ("Lucius", "Fox", True)


def test_invalid_contact_person_saves_nothing_and_says_why(actors):
    data = customer_post(**{"contacts-0-email": "not-an-email"})
    response = actors.client_for(actors.finance).post(reverse("customers:create"), data)
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not Customer.objects.exists() and not ContactPerson.objects.exists()


def test_a_customer_needs_a_display_name(actors):
    response = actors.client_for(actors.finance).post(reverse("customers:create"), customer_post(display_name="  "))
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Customer.objects.exists()


def test_two_primary_contacts_are_refused(actors):
    data = customer_post(
        **{"contacts-1-first_name": "Alfred", "contacts-1-last_name": "Pennyworth", "contacts-1-is_primary": "on"}
    )
    response = actors.client_for(actors.finance).post(reverse("customers:create"), data)
    assert "Only one contact person can be the primary contact." in response.content.decode()
    assert not Customer.objects.exists()


def test_the_first_contact_becomes_primary_when_none_is_chosen(actors):
    data = customer_post(**{"contacts-0-is_primary": ""})
    actors.client_for(actors.finance).post(reverse("customers:create"), data)
    assert ContactPerson.objects.get().is_primary


def test_the_database_allows_one_primary_contact_per_customer(db):
    person = ContactPersonFactory(is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactPersonFactory(customer=person.customer, is_primary=True)


def test_editing_a_customer_changes_it_and_can_remove_a_contact(actors):
    customer = CustomerFactory(organization=actors.organization, display_name="Old Name")
    person = ContactPersonFactory(customer=customer, is_primary=True)
    data = customer_post(
        display_name="New Name",
        **{
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "1",
            "contacts-0-id": str(person.pk),
            "contacts-0-customer": str(customer.pk),
            "contacts-0-DELETE": "on",
        },
    )
    response = actors.client_for(actors.finance).post(reverse("customers:edit", args=[customer.pk]), data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.display_name == "New Name"
    assert not customer.contact_persons.exists()


def test_custom_field_values_are_validated_and_stored(actors):
    CustomFieldFactory(organization=actors.organization, module="customers", label="Credit limit",
                       api_name="Credit_limit", data_type="decimal")
    CustomFieldFactory(organization=actors.organization, module="customers", label="Tier", api_name="Tier",
                       data_type="choice", options=["Gold", "Silver"])
    client = actors.client_for(actors.finance)
    bad = client.post(reverse("customers:create"), customer_post(cf__Credit_limit="lots", cf__Tier="Bronze"))
    assert bad.status_code == 200 and not Customer.objects.exists()
    client.post(reverse("customers:create"), customer_post(cf__Credit_limit="2500.50", cf__Tier="Gold"))
    customer = Customer.objects.get()
    assert customer.custom_fields == {"Credit_limit": "2500.50", "Tier": "Gold"}
    assert "2500.50" in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()


def test_a_member_can_own_a_customer_and_the_detail_page_names_them(actors):
    actors.ops.first_name, actors.ops.last_name = "Olive", "<Ops>"
    actors.ops.save()
    client = actors.client_for(actors.finance)
    client.post(reverse("customers:create"), customer_post(owner=actors.ops.pk))
    customer = Customer.objects.get()
    assert customer.owner == actors.ops
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-testid="owner">Olive &lt;Ops&gt;<' in page


def test_an_owner_from_another_organization_is_refused(actors):
    response = actors.client_for(actors.finance).post(
        reverse("customers:create"), customer_post(owner=actors.outsider.pk)
    )
    assert response.status_code == 200
    assert "That choice is not one of the available choices." in response.context["form"].errors["owner"][0]
    assert not Customer.objects.exists()


def test_only_active_members_are_offered_as_owners(actors):
    actors.ops.is_active = False
    actors.ops.save()
    response = actors.client_for(actors.finance).get(reverse("customers:create"))
    offered = {value for value, _ in response.context["form"].fields["owner"].choices if value}
    assert offered == {actors.admin.pk, actors.finance.pk}
    assert response.context["form"]["owner"].value() == actors.finance.pk


def test_editing_a_customer_keeps_an_owner_who_has_left(actors):
    customer = CustomerFactory(organization=actors.organization, owner=actors.ops)
    actors.ops.is_active = False
    actors.ops.save()
    client = actors.client_for(actors.finance)
    form = client.get(reverse("customers:edit", args=[customer.pk])).context["form"]
    assert form["owner"].value() == actors.ops.pk

    data = customer_post(display_name="Renamed", owner=actors.ops.pk,
                         **{"contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0"})
    response = client.post(reverse("customers:edit", args=[customer.pk]), data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.display_name, customer.owner) == ("Renamed", actors.ops)
    other = CustomerFactory(organization=actors.organization)  # and nobody else's customer can be given to them
    refused = client.post(reverse("customers:edit", args=[other.pk]), {**data, "display_name": "Other"})
    assert refused.status_code == 200 and "owner" in refused.context["form"].errors


def test_showing_the_owner_costs_no_extra_query(actors):
    customer = CustomerFactory(organization=actors.organization)
    client = actors.client_for(actors.ops)
    url = reverse("customers:detail", args=[customer.pk])
    client.get(url)  # the first request of a session does its own one-off queries
    with CaptureQueriesContext(connection) as without_owner:
        assert 'data-testid="owner">—<' in client.get(url).content.decode()
    Customer.objects.filter(pk=customer.pk).update(owner=actors.admin)
    with CaptureQueriesContext(connection) as with_owner:
        assert actors.admin.email in client.get(url).content.decode()
    assert len(with_owner) == len(without_owner)


def test_deactivating_and_reactivating_a_customer(actors):
    customer = CustomerFactory(organization=actors.organization)
    client = actors.client_for(actors.finance)
    client.post(reverse("customers:toggle_active", args=[customer.pk]))
    customer.refresh_from_db()
    assert not customer.is_active
    assert client.get(reverse("customers:toggle_active", args=[customer.pk])).status_code == 405
    client.post(reverse("customers:toggle_active", args=[customer.pk]))
    customer.refresh_from_db()
    assert customer.is_active


def test_detail_page_shows_total_sales_and_outstanding_receivables(actors):
    customer = CustomerFactory(organization=actors.organization)
    InvoiceFactory(customer=customer, total=Decimal("1000.00"), balance=Decimal("400.00"))
    InvoiceFactory(customer=customer, total=Decimal("250.50"), balance=Decimal("250.50"))
    InvoiceFactory(customer=customer, total=Decimal("99.00"), balance=Decimal("99.00"), status="void")
    InvoiceFactory(customer=customer, total=Decimal("10.00"), balance=Decimal("10.00"), status="draft")
    page = actors.client_for(actors.ops).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-testid="total-sales">USD 1,260.50<' in page
    assert 'data-testid="outstanding">USD 650.50<' in page


class TestList:
    @pytest.fixture
    def customers(self, actors):
        CustomerFactory(organization=actors.organization, display_name="Zeta Corp", email="z@zeta.example")
        CustomerFactory(organization=actors.organization, display_name="Alpha Ltd", email="hello@alpha.example")
        CustomerFactory(organization=actors.organization, display_name="Beta Inc", is_active=False)
        return actors.client_for(actors.ops)

    def names(self, response):
        return [c.display_name for c in response.context["state"].page]

    def test_search_matches_name_company_or_email(self, customers):
        assert self.names(customers.get(reverse("customers:list"), {"q": "alpha"})) == ["Alpha Ltd"]
        assert self.names(customers.get(reverse("customers:list"), {"q": "zeta.example"})) == ["Zeta Corp"]

    def test_view_filters_active_and_inactive(self, customers):
        assert self.names(customers.get(reverse("customers:list"), {"view": "inactive"})) == ["Beta Inc"]
        assert "Beta Inc" not in self.names(customers.get(reverse("customers:list"), {"view": "active"}))

    def test_sorting(self, customers):
        assert self.names(customers.get(reverse("customers:list"))) == ["Alpha Ltd", "Beta Inc", "Zeta Corp"]
        assert self.names(customers.get(reverse("customers:list"), {"sort": "-name"})) == [
            "Zeta Corp", "Beta Inc", "Alpha Ltd",
        ]

    def test_unknown_parameters_fall_back_to_defaults(self, customers):
        response = customers.get(reverse("customers:list"), {"sort": "password", "view": "x", "page": "zz"})
        assert response.status_code == 200
        assert self.names(response) == ["Alpha Ltd", "Beta Inc", "Zeta Corp"]

    def test_pagination(self, actors):
        CustomerFactory.create_batch(30, organization=actors.organization)
        client = actors.client_for(actors.ops)
        first = client.get(reverse("customers:list"))
        second = client.get(reverse("customers:list"), {"page": 2})
        assert len(self.names(first)) == 25 and len(self.names(second)) == 5
        assert not set(self.names(first)) & set(self.names(second))
        assert "Page 1 of 2" in first.content.decode()


def test_the_customer_lookup_searches_by_the_first_100_characters_typed(actors):
    CustomerFactory(organization=actors.organization, display_name="Q" * 100 + " Holdings")
    client = actors.client_for(actors.finance)
    found = client.get(reverse("customers:lookup"), {"q": "Q" * 100 + " and 10,000 more characters" * 400})
    assert found.status_code == 200 and "Q" * 100 + " Holdings" in found.content.decode()
