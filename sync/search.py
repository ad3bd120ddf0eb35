"""Advanced Search over the CRM from the New Invoice and New Bill forms: live CRM results, marked when
the record is already imported here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from customers.models import ContactPerson
from integration.crm.client import CrmClient
from integration.models import ErpModel

from .models import RecordLink

MAX_RESULTS = 25


def criteria_value(text: str) -> str:
    """Zoho criteria values escape parentheses and commas with a backslash."""
    return re.sub(r"([(),\\])", r"\\\1", text.strip())


@dataclass
class Hit:
    crm_module: str
    crm_id: str
    name: str
    detail: str = ""
    imported_id: int | None = None  # the ERP record already linked to it
    contacts: list[Hit] = field(default_factory=list)


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


def search_customers(*, connection, client: CrmClient, text: str) -> list[Hit]:
    """Accounts whose name starts with the text (with their contacts), then contacts by first or last name."""
    value = criteria_value(text)
    if len(value) < 2:
        return []
    accounts = client.search("Accounts", criteria=f"(Account_Name:starts_with:{value})",
                             fields=["Account_Name", "Phone", "Billing_City"], max_pages=1)[:MAX_RESULTS]
    hits = [Hit("Accounts", a["id"], a.get("Account_Name") or "", ", ".join(
        p for p in (a.get("Billing_City"), a.get("Phone")) if p)) for a in accounts]
    by_account = {hit.crm_id: hit for hit in hits}
    contact_fields = ["First_Name", "Last_Name", "Email", "Account_Name"]
    if by_account:
        related = client.search("Contacts", criteria=f"(Account_Name:in:{','.join(by_account)})",
                                fields=contact_fields, max_pages=1)
        for contact in related:
            account = (contact.get("Account_Name") or {}).get("id")
            if account in by_account:
                hit = _contact_hit(contact)
                hit.detail = contact.get("Email") or ""  # the account is the line above
                by_account[account].contacts.append(hit)
    people = client.search(
        "Contacts", criteria=f"((First_Name:starts_with:{value})or(Last_Name:starts_with:{value}))",
        fields=contact_fields, max_pages=1,
    )[:MAX_RESULTS]
    contact_hits = [_contact_hit(c) for c in people]
    for crm_module, group in (("Accounts", hits), ("Contacts", contact_hits)):
        imported = imported_records(connection, crm_module, [h.crm_id for h in group])
        for hit in group:
            hit.imported_id = imported.get(hit.crm_id)
    return hits + contact_hits


def _contact_hit(contact: dict) -> Hit:
    name = " ".join(p for p in (contact.get("First_Name"), contact.get("Last_Name")) if p)
    account = (contact.get("Account_Name") or {}).get("name") or ""
    return Hit("Contacts", contact["id"], name, ", ".join(p for p in (contact.get("Email"), account) if p))


def search_vendors(*, connection, client: CrmClient, text: str) -> list[Hit]:
    value = criteria_value(text)
    if len(value) < 2:
        return []
    vendors = client.search("Vendors", criteria=f"(Vendor_Name:starts_with:{value})",
                            fields=["Vendor_Name", "Email", "City"], max_pages=1)[:MAX_RESULTS]
    hits = [Hit("Vendors", v["id"], v.get("Vendor_Name") or "", ", ".join(
        p for p in (v.get("Email"), v.get("City")) if p)) for v in vendors]
    imported = imported_records(connection, "Vendors", [h.crm_id for h in hits])
    for hit in hits:
        hit.imported_id = imported.get(hit.crm_id)
    return hits
