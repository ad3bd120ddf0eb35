"""Advanced Search on New Invoice and New Bill: the records here listed at once, the Zoho CRM tab searched by the
criteria the help page names (Account Name; a contact's First Name and Last Name; Vendor Name) when Search is
pressed, any account or contact in the results selectable, clear messages when the CRM cannot be searched."""

from django.urls import reverse

from customers.models import ContactPerson, Customer
from integration.models import ConnectionStatus
from tests.factories import CustomerFactory, VendorFactory
from tests.sandbox import crm_records, sandbox_client
from vendors.models import Vendor

from .checks import account_with_contacts
from .conftest import configure

SEARCH = "sync:crm_search"


def search(client, module: str, **criteria):
    return client.get(reverse(SEARCH, args=[module]), criteria)


def test_the_dialog_searches_the_crm_with_the_help_pages_criteria_and_a_search_button(actors, sandbox, connection):
    page = actors.client_for(actors.finance).get(reverse("customers:invoice_create")).content.decode()
    for name in ("account_name", "first_name", "last_name"):
        assert f'name="{name}"' in page
    assert ">Search</button>" in page
    # Results come when the criteria are submitted, not on every key.
    assert 'hx-trigger="input changed delay:400ms' not in page


def test_search_by_account_name_lists_the_account_with_its_contacts(actors, sandbox, connection):
    account, contacts = account_with_contacts(sandbox)
    hits = search(actors.client_for(actors.finance), "customers", account_name=account["Account_Name"][:6]).context["hits"]
    hit = next(h for h in hits if h.crm_id == account["id"])
    assert {c.crm_id for c in hit.contacts} == {c["id"] for c in contacts}
    assert all(h.crm_module == "Accounts" and h.name.lower().startswith(account["Account_Name"][:6].lower())
               for h in hits)


def test_a_contact_listed_under_its_account_can_be_selected_and_imports_that_customer(actors, sandbox, connection):
    account, contacts = account_with_contacts(sandbox)
    client = actors.client_for(actors.finance)
    response = search(client, "customers", account_name=account["Account_Name"])
    contact = next(c for h in response.context["hits"] if h.crm_id == account["id"] for c in h.contacts)
    # The contact is a button of its own in the results.
    assert response.content.decode().count('data-testid="crm-hit"') >= 1 + len(contacts)
    assert (contact.pick_module, contact.pick_id) == ("Accounts", account["id"])

    picked = client.post(reverse("sync:crm_import", args=["customers"]),
                         {"crm_module": contact.pick_module, "crm_id": contact.pick_id})

    customer = Customer.objects.get(organization=actors.organization)
    assert customer.display_name == account["Account_Name"] and str(customer.pk) in picked["HX-Trigger"]
    assert contact.crm_id in {c["id"] for c in contacts}
    assert ContactPerson.objects.filter(customer=customer).count() == len(contacts)
    again = search(client, "customers", account_name=account["Account_Name"]).context["hits"]
    assert all(c.imported_id == customer.pk for h in again if h.crm_id == account["id"] for c in h.contacts)


def test_with_contacts_as_the_source_a_listed_contact_is_imported_as_an_individual(actors, sandbox, connection):
    configure(connection, "customers", crm_source="contacts")
    account, contacts = account_with_contacts(sandbox)
    hits = search(actors.client_for(actors.finance), "customers", account_name=account["Account_Name"]).context["hits"]
    contact = next(c for h in hits if h.crm_id == account["id"] for c in h.contacts)
    assert (contact.pick_module, contact.pick_id) == ("Contacts", contact.crm_id)


def test_search_by_first_and_last_name_finds_contacts(actors, sandbox, connection):
    _, contacts = account_with_contacts(sandbox)
    person = next(c for c in contacts if c.get("First_Name"))
    client = actors.client_for(actors.finance)
    by_last = search(client, "customers", last_name=person["Last_Name"]).context["hits"]
    assert person["id"] in [h.crm_id for h in by_last] and all(h.crm_module == "Contacts" for h in by_last)
    by_first = search(client, "customers", first_name=person["First_Name"]).context["hits"]
    assert person["id"] in [h.crm_id for h in by_first]
    both = search(client, "customers", first_name=person["First_Name"], last_name=person["Last_Name"]).context["hits"]
    assert person["id"] in [h.crm_id for h in both]
    assert all(h.name.lower().startswith(person["First_Name"].lower()) for h in both)


def test_nothing_is_asked_of_the_crm_before_search_is_pressed(actors, sandbox, connection):
    sandbox.reset_calls()
    response = search(actors.client_for(actors.finance), "customers")
    assert "then press Search" in response.content.decode()
    assert not any("search" in call for call in sandbox.calls()["calls"])


def test_search_without_results_says_so(actors, sandbox, connection):
    response = search(actors.client_for(actors.finance), "customers", account_name="Zzyzx Nothing")
    assert response.context["hits"] == []
    assert "No accounts or contacts in Zoho CRM match “Zzyzx Nothing”" in response.content.decode()


def test_the_erp_tab_lists_this_organizations_customers_before_anything_is_typed(actors, connection):
    CustomerFactory(organization=actors.organization, display_name="Alpha Local")
    CustomerFactory(organization=actors.organization, display_name="Beta Local", is_active=False)
    CustomerFactory(organization=actors.other_organization, display_name="Gamma Elsewhere")
    client = actors.client_for(actors.finance)
    dialog = client.get(reverse("customers:invoice_create")).content.decode()
    assert f'hx-get="{reverse("customers:lookup")}?browse=1" hx-trigger="load"' in dialog
    listed = client.get(reverse("customers:lookup"), {"browse": "1"}).content.decode()
    assert "Alpha Local" in listed and "Beta Local" not in listed and "Gamma Elsewhere" not in listed
    # The picker on the form itself still lists nothing until something is typed.
    assert "Alpha Local" not in client.get(reverse("customers:lookup")).content.decode()


def test_an_unreachable_crm_gives_a_clear_message_and_the_erp_tab_still_works(actors, sandbox, connection):
    CustomerFactory(organization=actors.organization, display_name="Falcon Local")
    sandbox.config(error_rate_5xx=1.0)
    client = actors.client_for(actors.finance)
    response = search(client, "customers", account_name="Falcon")
    assert response.status_code == 200
    assert "could not be reached just now" in response.content.decode()
    erp = client.get(reverse("customers:lookup"), {"q": "Falcon"}).content.decode()
    assert "Falcon Local" in erp


def test_search_refuses_when_the_integration_is_disabled(actors, sandbox, connection):
    connection.status = ConnectionStatus.DISABLED
    connection.save()
    client = actors.client_for(actors.finance)
    assert "integration is disabled" in search(client, "customers", account_name="Falcon").content.decode()
    response = client.post(reverse("sync:crm_import", args=["customers"]), {"crm_module": "Accounts", "crm_id": "1"})
    assert "integration is disabled" in response.content.decode() and not Customer.objects.exists()


def test_ops_cannot_search_or_import(actors, sandbox, connection):
    client = actors.client_for(actors.ops)
    assert search(client, "customers", account_name="xx").status_code == 403
    assert client.post(reverse("sync:crm_import", args=["customers"]), {}).status_code == 403


# --- New Bill: the vendor search -------------------------------------------------------------------------------


def test_new_bill_searches_crm_vendors_by_vendor_name(actors, sandbox, connection):
    vendor = next(crm_records(sandbox_client(sandbox), "Vendors", fields=["Vendor_Name"]))
    client = actors.client_for(actors.finance)
    dialog = client.get(reverse("vendors:bill_create")).content.decode()
    assert 'name="vendor_name"' in dialog and 'name="account_name"' not in dialog and ">Search</button>" in dialog
    hits = search(client, "vendors", vendor_name=vendor["Vendor_Name"][:5]).context["hits"]
    assert vendor["id"] in [h.crm_id for h in hits]
    assert all(h.crm_module == "Vendors" and h.name.lower().startswith(vendor["Vendor_Name"][:5].lower()) for h in hits)


def test_a_selected_crm_vendor_is_imported_once_and_marked_imported(actors, sandbox, connection):
    vendor = next(crm_records(sandbox_client(sandbox), "Vendors", fields=["Vendor_Name"]))
    client = actors.client_for(actors.finance)
    for _ in range(2):
        client.post(reverse("sync:crm_import", args=["vendors"]), {"crm_module": "Vendors", "crm_id": vendor["id"]})
    imported = Vendor.objects.get(organization=actors.organization)
    hits = search(client, "vendors", vendor_name=vendor["Vendor_Name"]).context["hits"]
    assert next(h for h in hits if h.crm_id == vendor["id"]).imported_id == imported.pk


def test_the_vendor_erp_tab_lists_vendors_before_anything_is_typed(actors, connection):
    VendorFactory(organization=actors.organization, display_name="Acme Paper")
    listed = actors.client_for(actors.finance).get(reverse("vendors:lookup"), {"browse": "1"}).content.decode()
    assert "Acme Paper" in listed


def test_vendor_search_without_results_and_for_the_wrong_role(actors, sandbox, connection):
    client = actors.client_for(actors.finance)
    response = search(client, "vendors", vendor_name="Zzyzx Nothing")
    assert "No vendors in Zoho CRM match “Zzyzx Nothing”" in response.content.decode()
    assert search(actors.client_for(actors.ops), "vendors", vendor_name="xx").status_code == 403
    assert search(actors.client_for(actors.outsider), "vendors", vendor_name="xx").context["error"].startswith(
        "Zoho CRM is not connected")


def test_import_takes_only_a_zoho_record_id_that_a_link_can_hold(actors, sandbox, connection):
    client = actors.client_for(actors.finance)

    def post(crm_id):
        return client.post(reverse("sync:crm_import", args=["customers"]), {"crm_module": "Accounts", "crm_id": crm_id})

    assert post("9" * 41).status_code == 404  # longer than a link's CRM id
    assert post("١٢").status_code == 404  # digits, but not 0-9
    assert post("9" * 40).status_code == 200  # a well-formed id: asked of the CRM (which has no such record)
    assert not Customer.objects.exists()
