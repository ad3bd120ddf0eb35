"""Advanced Search over the CRM from the New Invoice and New Bill forms: live CRM results for the criteria
the help page names (Account Name; a contact's First Name and Last Name; Vendor Name), marked when the
record is already imported here."""

from __future__ import annotations

from dataclasses import dataclass, field

from customers.models import ContactPerson
from integration.crm.client import CrmClient, criteria_value
from integration.models import CrmSource, ErpModel

from .models import RecordLink

MAX_RESULTS = 25
MIN_LENGTH = 2  # letters of a criterion before the CRM is asked


@dataclass
class Hit:
    crm_module: str
    crm_id: str
    name: str
    detail: str = ""
    imported_id: int | None = None  # the ERP record already holding it
    contacts: list[Hit] = field(default_factory=list)
    # What selecting it imports: itself, or for a contact listed under its account, that account.
    pick_module: str = ""
    pick_id: str = ""

    def __post_init__(self):
        self.pick_module = self.pick_module or self.crm_module
        self.pick_id = self.pick_id or self.crm_id


def imported_records(connection, crm_module: str, ids: list[str]) -> dict[str, int]:
    """CRM id -> the customer or vendor here that already holds it. A contact that is a contact person
    counts as imported with its customer."""
    links = RecordLink.objects.filter(connection=connection, crm_module=crm_module, crm_id__in=ids)
    found = {}
    persons = {}
    for crm_id, erp_model, erp_id in links.values_list("crm_id", "erp_model", "erp_id"):
        if erp_model == ErpModel.CONTACT_PERSON:
            persons[erp_id] = crm_id
        else:
            found[crm_id] = erp_id
    for person_id, customer_id in ContactPerson.objects.filter(pk__in=persons).values_list("pk", "customer_id"):
        found[persons[person_id]] = customer_id
    return found


def _given(text: str) -> str:
    value = criteria_value(text or "")
    return value if len(value) >= MIN_LENGTH else ""


def _contact_hit(contact: dict) -> Hit:
    name = " ".join(p for p in (contact.get("First_Name"), contact.get("Last_Name")) if p)
    account = (contact.get("Account_Name") or {}).get("name") or ""
    return Hit("Contacts", contact["id"], name, ", ".join(p for p in (contact.get("Email"), account) if p))


CONTACT_FIELDS = ["First_Name", "Last_Name", "Email", "Account_Name"]


def _accounts(client: CrmClient, name: str, *, contacts_as: str) -> list[Hit]:
    """Accounts whose name starts with `name`, each with its contacts; selecting one of those contacts
    imports the account (with its contacts) unless customers come from Contacts."""
    accounts = client.search("Accounts", criteria=f"(Account_Name:starts_with:{name})",
                             fields=["Account_Name", "Phone", "Billing_City"], max_pages=1)[:MAX_RESULTS]
    hits = [Hit("Accounts", a["id"], a.get("Account_Name") or "", ", ".join(
        p for p in (a.get("Billing_City"), a.get("Phone")) if p)) for a in accounts]
    by_account = {hit.crm_id: hit for hit in hits}
    if by_account:
        related = client.search("Contacts", criteria=f"(Account_Name:in:{','.join(by_account)})",
                                fields=CONTACT_FIELDS, max_pages=1)
        for contact in related:
            account = by_account.get((contact.get("Account_Name") or {}).get("id"))
            if account is None:
                continue
            hit = _contact_hit(contact)
            hit.detail = contact.get("Email") or ""  # the account is the line above
            if contacts_as != CrmSource.CONTACTS:
                hit.pick_module, hit.pick_id = "Accounts", account.crm_id
            account.contacts.append(hit)
    return hits


def search_customers(*, connection, client: CrmClient, account_name: str = "", first_name: str = "",
                     last_name: str = "", contacts_as: str = "") -> list[Hit]:
    """Accounts by Account Name (with their contacts) and contacts by First Name and Last Name: each
    criterion of at least two letters, matched from the start. `contacts_as` is the customers module's
    source: with Contacts, a contact is always imported as an individual customer."""
    account_name, first_name, last_name = _given(account_name), _given(first_name), _given(last_name)
    hits = _accounts(client, account_name, contacts_as=contacts_as) if account_name else []
    names = [f"({api}:starts_with:{value})" for api, value in (("First_Name", first_name), ("Last_Name", last_name))
             if value]
    people = []
    if names:
        criteria = names[0] if len(names) == 1 else f"({names[0]}and{names[1]})"
        people = [_contact_hit(c) for c in client.search("Contacts", criteria=criteria, fields=CONTACT_FIELDS,
                                                          max_pages=1)[:MAX_RESULTS]]
    _mark_imported(connection, hits + people + [c for hit in hits for c in hit.contacts])
    return hits + people


def _mark_imported(connection, hits: list[Hit]) -> None:
    """Each hit's ERP record, by what selecting it imports."""
    for crm_module in {hit.pick_module for hit in hits}:
        group = [hit for hit in hits if hit.pick_module == crm_module]
        imported = imported_records(connection, crm_module, [hit.pick_id for hit in group])
        for hit in group:
            hit.imported_id = imported.get(hit.pick_id)


def search_vendors(*, connection, client: CrmClient, vendor_name: str = "") -> list[Hit]:
    value = _given(vendor_name)
    if not value:
        return []
    vendors = client.search("Vendors", criteria=f"(Vendor_Name:starts_with:{value})",
                            fields=["Vendor_Name", "Email", "City"], max_pages=1)[:MAX_RESULTS]
    hits = [Hit("Vendors", v["id"], v.get("Vendor_Name") or "", ", ".join(
        p for p in (v.get("Email"), v.get("City")) if p)) for v in vendors]
    _mark_imported(connection, hits)
    return hits
