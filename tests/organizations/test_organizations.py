"""Organizations, memberships, switching, notifications, custom fields and the setup commands."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.models import CustomField, Membership, Notification, Organization
from organizations.services import custom_field_create, notification_create
from tests.factories import CustomerFactory, MembershipFactory, NotificationFactory, OrganizationFactory


def test_login_with_the_right_password_lands_on_customers(client, actors):
    from tests.factories import PASSWORD

    response = client.post(reverse("login"), {"username": actors.finance.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("customers:list")


def test_login_with_a_wrong_password_is_refused(client, actors):
    response = client.post(reverse("login"), {"username": actors.finance.username, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_needs_post_and_ends_the_session(actors):
    client = actors.client_for(actors.finance)
    client.post(reverse("logout"))
    assert client.get(reverse("customers:list")).status_code == 302


def test_a_user_in_two_organizations_switches_between_them(actors):
    MembershipFactory(user=actors.finance, organization=actors.other_organization, role="ops")
    CustomerFactory(organization=actors.organization, display_name="First Org Customer")
    CustomerFactory(organization=actors.other_organization, display_name="Second Org Customer")
    client = actors.client_for(actors.finance)
    page = client.get(reverse("customers:list")).content.decode()
    assert "First Org Customer" in page and "Second Org Customer" not in page
    client.post(reverse("switch_organization"), {"organization": actors.other_organization.pk})
    page = client.get(reverse("customers:list")).content.decode()
    assert "Second Org Customer" in page and "First Org Customer" not in page
    # In the second organization the user is ops: no editing there.
    assert client.get(reverse("customers:create")).status_code == 403


def test_switching_to_an_organization_you_do_not_belong_to_does_nothing(actors):
    CustomerFactory(organization=actors.other_organization, display_name="Not Yours")
    client = actors.client_for(actors.finance)
    client.post(reverse("switch_organization"), {"organization": actors.other_organization.pk})
    assert "Not Yours" not in client.get(reverse("customers:list")).content.decode()


def test_a_user_without_membership_sees_an_explanation(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "not a member of any organization" in response.content.decode()
    assert client.get(reverse("customers:list")).status_code == 403


def test_unread_notifications_are_counted_in_the_header_and_cleared_by_mark_all_as_read(actors):
    notification_create(organization=actors.organization, user=actors.finance, message="Import finished")
    notification_create(organization=actors.organization, user=actors.finance, message="Second")
    theirs = NotificationFactory(organization=actors.other_organization, user=actors.finance)
    client = actors.client_for(actors.finance)
    page = client.get(reverse("customers:list")).content.decode()
    assert 'data-testid="unread-count">2<' in page
    listing = client.get(reverse("notifications")).content.decode()
    assert "Import finished" in listing and "Mark all as read" in listing
    response = client.post(reverse("notifications_read"))
    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    page = client.get(reverse("customers:list")).content.decode()
    assert 'data-testid="unread-count"' not in page
    assert "Mark all as read" not in client.get(reverse("notifications")).content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None  # another organization's are read there


def test_opening_the_notifications_page_leaves_them_unread(actors):
    notification_create(organization=actors.organization, user=actors.finance, message="Import finished")
    client = actors.client_for(actors.finance)
    for _ in range(2):
        client.get(reverse("notifications"))
    page = client.get(reverse("customers:list")).content.decode()
    assert 'data-testid="unread-count">1<' in page
    assert client.get(reverse("notifications_read")).status_code == 405  # marking read needs a POST


def test_mark_as_read_needs_the_pages_csrf_token(actors):
    from django.test import Client

    notification_create(organization=actors.organization, user=actors.finance, message="Import finished")
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.finance)
    assert client.post(reverse("notifications_read")).status_code == 403
    listing = client.get(reverse("notifications"))
    token = listing.cookies["csrftoken"].value
    assert 'name="csrfmiddlewaretoken"' in listing.content.decode()
    assert client.post(reverse("notifications_read"), {"csrfmiddlewaretoken": token}).status_code == 302
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_one_notification_is_marked_read_and_not_another_users(actors):
    first = notification_create(organization=actors.organization, user=actors.finance, message="Import finished",
                                link=reverse("customers:list"))
    second = notification_create(organization=actors.organization, user=actors.finance, message="Second")
    someone_elses = notification_create(organization=actors.organization, user=actors.ops, message="Theirs")
    client = actors.client_for(actors.finance)
    listing = client.get(reverse("notifications")).content.decode()
    assert f'action="{reverse("notification_read", args=[first.pk])}"' in listing
    assert f'<a href="{reverse("customers:list")}">Import finished</a>' in listing
    client.post(reverse("notification_read", args=[first.pk]))
    client.post(reverse("notification_read", args=[someone_elses.pk]))
    read = dict(Notification.objects.values_list("pk", "read_at"))
    assert read[first.pk] is not None and read[second.pk] is None and read[someone_elses.pk] is None
    listing = client.get(reverse("notifications")).content.decode()
    assert f'action="{reverse("notification_read", args=[first.pk])}"' not in listing


def queries_on(client, url, params=None) -> list[str]:
    client.get(url, params)  # the first request of a session does its own one-off queries
    with CaptureQueriesContext(connection) as captured:
        client.get(url, params)
    return [query["sql"] for query in captured.captured_queries]


def test_the_customer_typeahead_does_not_count_notifications(actors):
    NotificationFactory(organization=actors.organization, user=actors.finance)
    queries = queries_on(actors.client_for(actors.finance), reverse("customers:lookup"), {"q": "a"})
    assert not [sql for sql in queries if "organizations_notification" in sql]


def test_a_page_reads_the_memberships_once_for_the_current_and_the_other_organizations(actors):
    MembershipFactory(user=actors.finance, organization=actors.other_organization, role="ops")
    client = actors.client_for(actors.finance)
    queries = queries_on(client, reverse("customers:list"))
    assert len([sql for sql in queries if 'FROM "organizations_membership"' in sql]) == 1
    assert actors.other_organization.name in client.get(reverse("customers:list")).content.decode()


def test_organization_currency_must_be_an_iso_code(db):
    with pytest.raises(ValidationError):
        Organization(name="Bad", email="a@b.example", country="X", base_currency="dollars").full_clean()


def test_one_membership_per_user_and_organization(db):
    membership = MembershipFactory()
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=membership.user, organization=membership.organization, role="ops")


def test_custom_field_gets_an_api_name_from_its_label(db):
    organization = OrganizationFactory()
    field = custom_field_create(organization=organization, module="customers", label="Customer tier", data_type="text")
    assert field.api_name == "Customer_tier"


def test_choice_custom_field_needs_options(db):
    organization = OrganizationFactory()
    with pytest.raises(ValidationError):
        custom_field_create(organization=organization, module="items", label="Kind", data_type="choice")
    field = custom_field_create(
        organization=organization, module="items", label="Kind", data_type="choice", options=["Goods", "Services"]
    )
    assert field.options == ["Goods", "Services"]


def test_admin_adds_a_custom_field_and_it_appears_on_the_customer_form(actors):
    client = actors.client_for(actors.admin)
    response = client.post(
        reverse("custom_fields"),
        {"module": "customers", "label": "Credit limit", "data_type": "decimal", "options": ""},
    )
    assert response.status_code == 302
    assert CustomField.objects.filter(organization=actors.organization, api_name="Credit_limit").exists()
    form = client.get(reverse("customers:create")).content.decode()
    assert 'name="cf__Credit_limit"' in form


def test_duplicate_custom_field_is_refused_with_a_message(actors):
    client = actors.client_for(actors.admin)
    data = {"module": "customers", "label": "Tier", "data_type": "text", "options": ""}
    client.post(reverse("custom_fields"), data)
    response = client.post(reverse("custom_fields"), data)
    assert "already has a field with this name" in response.content.decode()
    assert CustomField.objects.filter(organization=actors.organization).count() == 1


def test_setup_commands_create_an_organization_members_and_demo_data(db, capsys):
    call_command("create_org", name="Globex", email="ap@globex.example", country="Germany", currency="eur")
    organization = Organization.objects.get(name="Globex")
    assert organization.base_currency == "EUR"
    call_command("create_member", org="Globex", username="hank", role="finance", password_stdin=True,
                 stdin=StringIO("Quiet-harbour-42\n"))
    membership = Membership.objects.get(user__username="hank")
    assert membership.role == "finance" and membership.user.check_password("Quiet-harbour-42")


def test_setup_commands_fail_clearly(db):
    with pytest.raises(CommandError, match="base_currency"):
        call_command("create_org", name="X", email="x@x.example", country="Y", currency="money")
    with pytest.raises(CommandError, match="No organization named"):
        call_command("create_member", org="Missing", username="u", role="ops", password_stdin=True,
                     stdin=StringIO("Quiet-harbour-42\n"))


def test_create_member_validates_the_password_and_never_takes_it_on_the_command_line(db, capsys):
    call_command("create_org", name="Globex", email="ap@globex.example", country="Germany", currency="eur")
    for weak, reason in (("short1", "too short"), ("password123", "too common"), ("4815162342", "entirely numeric"),
                         ("hankhankhank", "too similar")):
        with pytest.raises(CommandError, match=reason):
            call_command("create_member", org="Globex", username="hankhankhank", role="finance",
                         password_stdin=True, stdin=StringIO(weak + "\n"))
    assert not Membership.objects.filter(user__username="hankhankhank").exists()
    with pytest.raises(CommandError, match="ps and the shell's history"):
        call_command("create_member", org="Globex", username="ina", role="finance", password="Quiet-harbour-42")
    with pytest.raises(CommandError, match="--password-stdin"):  # no terminal to ask in
        call_command("create_member", org="Globex", username="ina", role="finance", stdin=StringIO(""))


def test_create_member_says_an_existing_user_keeps_their_password(db, capsys):
    call_command("create_org", name="Globex", email="ap@globex.example", country="Germany", currency="eur")
    call_command("create_member", org="Globex", username="hank", role="finance", password_stdin=True,
                 stdin=StringIO("Quiet-harbour-42\n"))
    capsys.readouterr()
    call_command("create_member", org="Globex", username="hank", role="admin", password_stdin=True,
                 stdin=StringIO("Another-harbour-43\n"))
    out = capsys.readouterr().out
    assert "already exists and keeps their password" in out and "hank is admin in Globex" in out
    assert Membership.objects.get(user__username="hank").user.check_password("Quiet-harbour-42")
