"""Template tags that let ERP pages show CRM facts without the ERP apps importing the sync app."""

from django import template

from ..models import RecordLink
from ..selectors import link_for

register = template.Library()


@register.simple_tag(takes_context=True)
def crm_link(context, erp_model: str, record):
    """The record's link to the CRM in the current organization, or None."""
    request = context.get("request")
    organization = getattr(request, "organization", None)
    if organization is None or record is None:
        return None
    return link_for(organization=organization, erp_model=erp_model, erp_id=record.pk)


@register.simple_tag
def crm_linked_ids(erp_model: str, records) -> set:
    """The ids among `records` that are linked to the CRM, in one query (for list badges)."""
    ids = [record.pk for record in records]
    if not ids:
        return set()
    links = RecordLink.objects.filter(erp_model=erp_model, erp_id__in=ids, crm_deleted_at__isnull=True)
    return set(links.values_list("erp_id", flat=True))
