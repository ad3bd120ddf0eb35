""""CRM Customers" and "CRM Vendors": list views the sync app adds to the ERP's lists.

The ERP apps know nothing of the CRM; their list specifications accept extra views, and this module
adds one that keeps the records linked to a CRM record.
"""

from django.db.models import Exists, OuterRef, Q

from .models import RecordLink


def linked(erp_model: str) -> Q:
    return Q(Exists(RecordLink.objects.filter(erp_model=erp_model, erp_id=OuterRef("pk"))))


def register_crm_filters() -> None:
    from customers.selectors import CUSTOMER_LIST
    from vendors.views import VENDOR_LIST

    CUSTOMER_LIST.views["crm"] = ("CRM Customers", linked("customer"))
    VENDOR_LIST.views["crm"] = ("CRM Vendors", linked("vendor"))
