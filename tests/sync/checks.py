"""Helpers of the sync tests: comparing both sides, record for record and field for field, with
conversions written out here rather than borrowed from the engine (a bug there must not hide itself),
and finding sandbox records to work with."""

from __future__ import annotations

from decimal import Decimal

from customers.models import ContactPerson, Customer
from integration.catalogue import DEFAULT_MAPS
from items.models import Item
from sync.models import RecordLink, SyncIssue
from tests.sandbox import crm_records, sandbox_client
from vendors.models import Vendor

MODELS = {"customer": Customer, "contact_person": ContactPerson, "vendor": Vendor, "item": Item}
ITEM_TYPES = {"goods": "goods", "good": "goods", "services": "service", "service": "service"}


def expected(erp_field: str, crm_value):
    """What an ERP field should hold for a CRM value under the default mapping."""
    if erp_field in ("rate", "purchase_rate"):
        return Decimal(str(crm_value or 0)).quantize(Decimal("0.01"))
    if erp_field == "item_type":
        return ITEM_TYPES[str(crm_value).lower()] if crm_value else "goods"
    if isinstance(crm_value, dict):
        return crm_value.get("name") or ""
    return "" if crm_value is None else str(crm_value).strip()


def default_pairs(target: str, crm_module: str, crm_fields: set[str]) -> dict[str, str]:
    return {erp: crm for erp, crm in DEFAULT_MAPS[(target, crm_module)].items() if crm in crm_fields}


def links_of(connection, crm_module: str, erp_model: str | None = None) -> dict[str, RecordLink]:
    links = RecordLink.objects.filter(connection=connection, crm_module=crm_module, crm_deleted_at__isnull=True)
    if erp_model:
        links = links.filter(erp_model=erp_model)
    return {link.crm_id: link for link in links}


def mismatches(records: dict[str, dict], links: dict[str, RecordLink], pairs: dict[str, str], *,
               derive=None) -> list[str]:
    """Every difference between linked CRM records and their ERP records, as readable lines."""
    problems = []
    by_model: dict[str, dict[int, object]] = {}
    for link in links.values():
        by_model.setdefault(link.erp_model, {})
    for model_name in by_model:
        ids = [link.erp_id for link in links.values() if link.erp_model == model_name]
        by_model[model_name] = MODELS[model_name].objects.in_bulk(ids)
    for crm_id, link in links.items():
        record = records.get(crm_id)
        obj = by_model[link.erp_model].get(link.erp_id)
        if record is None:
            problems.append(f"{crm_id}: linked but not in the CRM")
            continue
        if obj is None:
            problems.append(f"{crm_id}: linked to a missing {link.erp_model} {link.erp_id}")
            continue
        for erp_field, crm_field in pairs.items():
            want = expected(erp_field, record.get(crm_field))
            have = getattr(obj, erp_field)
            if have != want:
                problems.append(f"{crm_id} {crm_field}={record.get(crm_field)!r}: {erp_field}={have!r}, expected {want!r}")
        if derive is not None:
            problems += [f"{crm_id}: {line}" for line in derive(record, obj)]
    return problems


def issues_for(run, kind: str) -> dict[str, list[SyncIssue]]:
    found: dict[str, list[SyncIssue]] = {}
    for issue in SyncIssue.objects.filter(run=run, kind=kind):
        found.setdefault(issue.crm_id, []).append(issue)
    return found


def account_with_contacts(sandbox):
    """A CRM account that has contacts, with them."""
    crm = sandbox_client(sandbox)
    contacts = list(crm_records(crm, "Contacts", fields=["First_Name", "Last_Name", "Account_Name"]))
    by_account = {}
    for contact in contacts:
        account = contact.get("Account_Name")
        if account:
            by_account.setdefault(account["id"], []).append(contact)
    account_id, its_contacts = max(by_account.items(), key=lambda item: len(item[1]))
    return crm.get_record("Accounts", account_id), its_contacts
