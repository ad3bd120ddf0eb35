"""The "CRM Customers" and "CRM Vendors" flag: `crm_linked` on customers and vendors, which their list
views filter on (with a partial index), kept by the sync together with each record link it makes or
removes. `refresh_crm_flags` sets every flag from the links, for links made by other means."""

from django.db.models import Exists, OuterRef

from customers.models import Customer
from integration.models import ErpModel
from vendors.models import Vendor

from .models import RecordLink


def mark_linked(model, ids, linked: bool) -> None:
    """The flag of these rows, written with the links that decide it (models without the flag: nothing)."""
    if ids and any(f.name == "crm_linked" for f in model._meta.fields):
        model.objects.filter(pk__in=list(ids)).exclude(crm_linked=linked).update(crm_linked=linked)


def refresh_crm_flags(*, organization_id: int) -> int:
    """Set `crm_linked` on exactly the organization's customers and vendors that have a link. Returns
    how many flags changed."""
    changed = 0
    for model, erp_model in ((Customer, ErpModel.CUSTOMER), (Vendor, ErpModel.VENDOR)):
        # A link kept after its CRM record was deleted (the record has transactions) no longer counts.
        linked = Exists(RecordLink.objects.filter(erp_model=erp_model, erp_id=OuterRef("pk"), crm_deleted_at__isnull=True,
                                                  connection__organization_id=organization_id))
        rows = model.objects.filter(organization_id=organization_id)
        changed += rows.filter(crm_linked=False).filter(linked).update(crm_linked=True)
        changed += rows.filter(crm_linked=True).exclude(linked).update(crm_linked=False)
    return changed
