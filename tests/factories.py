"""factory-boy factories for every model of the ERP."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from customers.models import ContactPerson, Customer, Invoice
from integration.models import CrmConnection, ModuleConfig
from items.models import Item
from organizations.models import CustomField, Membership, Notification, Organization
from vendors.models import Bill, Vendor

PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    email = factory.Sequence(lambda n: f"finance{n}@org.example")
    country = "United States"
    base_currency = "USD"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@people.example")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = "finance"


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    message = factory.Sequence(lambda n: f"Something happened ({n})")


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomField

    organization = factory.SubFactory(OrganizationFactory)
    module = "customers"
    label = factory.Sequence(lambda n: f"Field {n}")
    api_name = factory.Sequence(lambda n: f"Field_{n}")
    data_type = "text"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    display_name = factory.Sequence(lambda n: f"Customer {n:05d}")
    company_name = factory.LazyAttribute(lambda c: c.display_name)
    email = factory.Sequence(lambda n: f"customer{n}@client.example")
    currency = "USD"


class ContactPersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPerson

    customer = factory.SubFactory(CustomerFactory)
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Lovelace{n}")
    email = factory.Sequence(lambda n: f"contact{n}@client.example")


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.LazyAttribute(lambda i: i.customer.organization)
    number = factory.Sequence(lambda n: f"INV-{n:05d}")
    date = factory.LazyFunction(datetime.date.today)
    due_date = factory.LazyAttribute(lambda i: i.date + datetime.timedelta(days=30))
    total = Decimal("100.00")
    balance = factory.LazyAttribute(lambda i: i.total)
    status = "open"


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor

    organization = factory.SubFactory(OrganizationFactory)
    display_name = factory.Sequence(lambda n: f"Vendor {n:05d}")
    email = factory.Sequence(lambda n: f"vendor{n}@supplier.example")
    currency = "USD"


class BillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bill

    vendor = factory.SubFactory(VendorFactory)
    organization = factory.LazyAttribute(lambda b: b.vendor.organization)
    number = factory.Sequence(lambda n: f"B-{n:05d}")
    date = factory.LazyFunction(datetime.date.today)
    due_date = factory.LazyAttribute(lambda b: b.date + datetime.timedelta(days=14))
    total = Decimal("50.00")
    balance = factory.LazyAttribute(lambda b: b.total)


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Item {n:05d}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    rate = Decimal("10.00")
    purchase_rate = Decimal("6.00")


class CrmConnectionFactory(factory.django.DjangoModelFactory):
    """A connection as Connect leaves it, for pages that never call the CRM (no sandbox needed). Its
    addresses lead nowhere: a test that reaches the CRM through it fails loudly."""

    class Meta:
        model = CrmConnection
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    crm_org_id = factory.Sequence(lambda n: f"6000000{n:05d}")
    crm_org_name = factory.Sequence(lambda n: f"CRM Org {n}")
    crm_edition = "enterprise"
    api_domain = "https://www.zohoapis.com"
    accounts_url = "https://accounts.zoho.com"
    client_id = "1000.TESTCLIENT"
    client_secret = "not-a-secret"
    refresh_token = "1000.not-a-token"
    two_way_allowed = True

    @factory.post_generation
    def flag_organization(obj, create, extracted, **kwargs):
        """As connecting does: the organization has a CRM now."""
        if create:
            Organization.objects.filter(pk=obj.organization_id).update(crm_connected=True)
            obj.organization.crm_connected = True


class ModuleConfigFactory(factory.django.DjangoModelFactory):
    """A configured module (customers from Accounts unless told otherwise)."""

    class Meta:
        model = ModuleConfig

    connection = factory.SubFactory(CrmConnectionFactory)
    module = "customers"
    crm_source = factory.LazyAttribute(lambda c: "accounts" if c.module == "customers" else "")
    configured = True
