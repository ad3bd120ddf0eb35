"""Template tags that let ERP pages show CRM facts without the ERP apps importing the sync app."""

from django import template

from ..selectors import link_for, record_timeline

register = template.Library()


@register.simple_tag(takes_context=True)
def crm_link(context, erp_model: str, record):
    """The record's link to the CRM in the current organization, or None."""
    request = context.get("request")
    organization = getattr(request, "organization", None)
    if organization is None or record is None:
        return None
    return link_for(organization=organization, erp_model=erp_model, erp_id=record.pk)


@register.inclusion_tag("sync/partials/timeline.html", takes_context=True)
def sync_tab(context, erp_model: str, record):
    """The record's Sync tab: its link, the changes the sync made to it or sent from it, its open issues."""
    request = context.get("request")
    organization = getattr(request, "organization", None)
    if organization is None or record is None:
        return {"shown": False}
    return {"shown": True, **record_timeline(organization=organization, erp_model=erp_model, erp_id=record.pk)}
