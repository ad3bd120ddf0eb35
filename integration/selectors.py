"""Reads of the integration: an organization's connection, and what the configuration page reads live
from the CRM."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from organizations.models import Organization

from . import catalogue
from .crm.client import CrmClient
from .models import CrmConnection, ModuleConfig


def connection_for(organization: Organization) -> CrmConnection | None:
    return CrmConnection.objects.filter(organization=organization).first()


def get_connection_for_user(request) -> CrmConnection:
    """The connection of the request's organization; 404 when it has none."""
    connection = connection_for(request.organization)
    if connection is None:
        raise Http404("No Zoho CRM connection.")
    return connection


def module_config_or_new(*, connection: CrmConnection, module: str) -> ModuleConfig:
    """The module's saved configuration, else a new one that is not saved: showing the configuration page
    writes nothing, the row is made when its form is posted."""
    found = ModuleConfig.objects.filter(connection=connection, module=module).first()
    return found or ModuleConfig(connection=connection, module=module)


@dataclass
class CrmMetadata:
    """What the configuration page reads live from the CRM."""

    org: dict
    fields: dict[str, list[dict]]  # CRM module -> field metadata
    views: dict[str, list[dict]]  # CRM module -> custom views

    def field(self, crm_module: str, api_name: str) -> dict | None:
        return next((f for f in self.fields.get(crm_module, []) if f.get("api_name") == api_name), None)


def metadata_load(*, client: CrmClient, module: str, crm_source: str = "") -> CrmMetadata:
    """The CRM organization, and the fields and views of the CRM modules the chosen source reads."""
    crm_modules = catalogue.crm_modules_for(module, crm_source)
    return CrmMetadata(
        org=client.org(),
        fields={m: client.fields(m) for m in crm_modules},
        views={m: client.custom_views(m) for m in crm_modules},
    )
