"""Advanced Search's Zoho CRM tab on New Invoice: live results, clear messages when it cannot search, roles."""

from django.urls import reverse

from customers.models import Customer
from integration.models import ConnectionStatus
from tests.factories import CustomerFactory

from .checks import account_with_contacts


def test_search_by_account_name_lists_the_account_with_its_contacts(actors, sandbox, connection):
    account, contacts = account_with_contacts(sandbox)
    response = actors.client_for(actors.finance).get(
        reverse("sync:crm_search", args=["customers"]), {"q": account["Account_Name"][:6]})
    hits = response.context["hits"]
    hit = next(h for h in hits if h.crm_id == account["id"])
    assert {c.crm_id for c in hit.contacts} == {c["id"] for c in contacts}
    assert all(h.name.lower().startswith(account["Account_Name"][:6].lower()) for h in hits
               if h.crm_module == "Accounts")


def test_search_by_first_or_last_name_finds_contacts(actors, sandbox, connection):
    _, contacts = account_with_contacts(sandbox)
    person = contacts[0]
    client = actors.client_for(actors.finance)
    by_last = client.get(reverse("sync:crm_search", args=["customers"]), {"q": person["Last_Name"]}).context["hits"]
    assert person["id"] in [h.crm_id for h in by_last if h.crm_module == "Contacts"]
    if person.get("First_Name"):
        by_first = client.get(reverse("sync:crm_search", args=["customers"]),
                              {"q": person["First_Name"]}).context["hits"]
        assert person["id"] in [h.crm_id for h in by_first if h.crm_module == "Contacts"]


def test_search_without_results_says_so(actors, sandbox, connection):
    response = actors.client_for(actors.finance).get(reverse("sync:crm_search", args=["customers"]),
                                                     {"q": "Zzyzx Nothing"})
    assert response.context["hits"] == []
    assert "No accounts or contacts in Zoho CRM match" in response.content.decode()


def test_an_unreachable_crm_gives_a_clear_message_and_the_erp_tab_still_works(actors, sandbox, connection):
    CustomerFactory(organization=actors.organization, display_name="Falcon Local")
    sandbox.config(error_rate_5xx=1.0)
    client = actors.client_for(actors.finance)
    response = client.get(reverse("sync:crm_search", args=["customers"]), {"q": "Falcon"})
    assert response.status_code == 200
    assert "could not be reached just now" in response.content.decode()
    erp = client.get(reverse("customers:lookup"), {"q": "Falcon"}).content.decode()
    assert "Falcon Local" in erp


def test_search_refuses_when_the_integration_is_disabled(actors, sandbox, connection):
    connection.status = ConnectionStatus.DISABLED
    connection.save()
    client = actors.client_for(actors.finance)
    search = client.get(reverse("sync:crm_search", args=["customers"]), {"q": "Falcon"}).content.decode()
    assert "integration is disabled" in search
    response = client.post(reverse("sync:crm_import", args=["customers"]), {"crm_module": "Accounts", "crm_id": "1"})
    assert "integration is disabled" in response.content.decode() and not Customer.objects.exists()


def test_ops_cannot_search_or_import(actors, sandbox, connection):
    client = actors.client_for(actors.ops)
    assert client.get(reverse("sync:crm_search", args=["customers"]), {"q": "x"}).status_code == 403
    assert client.post(reverse("sync:crm_import", args=["customers"]), {}).status_code == 403
