""""CRM Customers" and "CRM Vendors": list views the sync app adds to the ERP's lists.

The ERP apps know nothing of the CRM; their list specifications accept extra views, and their records
carry a plain `crm_linked` flag that the sync writes together with each record link it makes or
removes; `refresh_crm_flags` sets every flag from the links, for links made otherwise. Filtering on
the flag (with a partial index) keeps the view as fast as the others at 100,000 customers, where a
per-row lookup of links is not.
"""

from django.db.models import Exists, OuterRef, Q

from .models import RecordLink


def register_crm_filters() -> None:
    from customers.selectors import CUSTOMER_LIST
    from vendors.views import VENDOR_LIST

    CUSTOMER_LIST.views["crm"] = ("CRM Customers", Q(crm_linked=True))
    VENDOR_LIST.views["crm"] = ("CRM Vendors", Q(crm_linked=True))


def refresh_crm_flags(*, organization_id: int) -> int:
    """Set `crm_linked` on exactly the organization's customers and vendors that have a link. Returns
    how many flags changed."""
    from customers.models import Customer
    from vendors.models import Vendor

    changed = 0
    for model, erp_model in ((Customer, "customer"), (Vendor, "vendor")):
        # A link kept after its CRM record was deleted (the record has transactions) no longer counts.
        linked = Exists(RecordLink.objects.filter(erp_model=erp_model, erp_id=OuterRef("pk"), crm_deleted_at__isnull=True,
                                                  connection__organization_id=organization_id))
        rows = model.objects.filter(organization_id=organization_id)
        changed += rows.filter(crm_linked=False).filter(linked).update(crm_linked=True)
        changed += rows.filter(crm_linked=True).exclude(linked).update(crm_linked=False)
    return changed
