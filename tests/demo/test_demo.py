"""The demo: its data set and its admin."""

from django.core.management import call_command

from customers.models import ContactPerson
from organizations.models import Membership, Organization
from tests.factories import OrganizationFactory


def test_demo_data_fills_an_organization_once_with_customers_and_their_contact_persons(db):
    organization = OrganizationFactory(name="Globex")
    call_command("demo_data", org="Globex")
    assert organization.customers.count() == 26
    persons = ContactPerson.objects.filter(customer__organization=organization)
    assert 20 <= persons.count() <= 60
    # Each business customer has exactly one primary contact person, as the customer form would make it.
    businesses = organization.customers.filter(customer_type="business")
    assert all(c.contact_persons.filter(is_primary=True).count() == 1 for c in businesses)
    assert organization.vendors.count() == 10 and organization.items.count() == 10
    assert organization.invoices.count() == 40 and organization.bills.count() == 15
    # Running it again adds nothing.
    call_command("demo_data", org="Globex")
    assert organization.invoices.count() == 40 and Organization.objects.get(pk=organization.pk).customers.count() == 26


def test_the_demo_admin_gets_the_password_kept_for_the_demo(db, settings, tmp_path):
    from demo.management.commands.run_demo import DEMO_ORG, DEMO_USER, Command
    from tests.factories import UserFactory

    settings.VAR_DIR = tmp_path
    UserFactory(username=DEMO_USER)  # an admin left from earlier, with another password
    password = Command().ensure_demo_organization()
    membership = Membership.objects.get(user__username=DEMO_USER, organization__name=DEMO_ORG)
    assert membership.role == "admin" and membership.user.check_password(password)
    assert (tmp_path / "demo-admin-password").read_text() == password
