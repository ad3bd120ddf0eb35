"""The connection's life (connect with its prerequisites, map users, disable, enable, re-authorize) and the
configuration of the modules to be synced."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from organizations.models import CustomField, Membership, Organization
from organizations.services import custom_field_create

from . import catalogue
from .crm.client import CrmClient
from .crm.errors import CrmError, CrmInvalidData
from .crm.urls import check_accounts_url, check_api_domain
from .models import (
    ConnectionEvent,
    ConnectionStatus,
    CrmConnection,
    CrmUser,
    Direction,
    FieldMapping,
    ModuleConfig,
)
from .signals import connection_changed, module_configured, preview_requested, sync_requested

log = logging.getLogger("integration")

EDITION_RANK = {"free": 0, "standard": 1, "starter": 1, "professional": 2, "enterprise": 3, "zohoone": 3,
                "ultimate": 4, "crmplus": 4}
MINIMUM_EDITION = "professional"


class ConnectionRefused(Exception):
    """A prerequisite is not met; the message says which and what to do."""


class CrmValueTooLong(ConnectionRefused, CrmInvalidData):
    """The CRM sent a value (its organization's id, a user's email, ...) longer than the column that keeps
    it: refused rather than cut, or left to a database error. Connecting is refused for it, and to the sync
    it is bad data from the CRM like any other."""


def crm_value(value, *, model, field: str, what: str) -> str:
    """A value from the CRM for the bounded column `model.field`, as text ("" for none); CrmValueTooLong
    when it does not fit."""
    text = "" if value is None else str(value)
    limit = model._meta.get_field(field).max_length
    if len(text) > limit:
        raise CrmValueTooLong(f"Zoho CRM returned {what} of {len(text)} characters; at most {limit} are allowed.")
    return text


def crm_edition(org: dict) -> str:
    """The edition the CRM organization runs: its paid plan, or the plan it is trying out."""
    license_details = org.get("license_details") or {}
    if license_details.get("paid"):
        return str(license_details.get("paid_type") or "free").lower()
    return str(license_details.get("trial_type") or license_details.get("paid_type") or "free").lower()


def check_prerequisites(*, organization: Organization, crm_org: dict) -> None:
    edition = crm_edition(crm_org)
    if EDITION_RANK.get(edition.replace(" ", ""), 0) < EDITION_RANK[MINIMUM_EDITION]:
        raise ConnectionRefused(
            f"The CRM organization runs the {edition.title()} edition. Zoho CRM Professional or a higher "
            "edition is needed to connect."
        )
    crm_currency = currency_mismatch(organization=organization, crm_org=crm_org)
    if crm_currency is not None:
        raise ConnectionRefused(
            f"Multi-currency is on in the CRM and its base currency is {crm_currency or 'unknown'}, but this "
            f"organization's base currency is {organization.base_currency}. They must be the same."
        )


def currency_mismatch(*, organization: Organization, crm_org: dict) -> str | None:
    """With multi-currency on in the CRM, amounts are exchanged against its base currency, so it must be the
    organization's. Returns the CRM's base currency ("" when it does not say) when they differ, else None."""
    if not crm_org.get("mc_status"):
        return None
    crm_currency = str(crm_org.get("iso_code") or "").upper()
    return crm_currency if crm_currency != organization.base_currency else None


def crm_client(*, api_domain: str, accounts_url: str, client_id: str, client_secret: str, refresh_token: str,
               access_token: str = "", access_token_expires_at: datetime.datetime | None = None,
               **options) -> CrmClient:
    """A client for these credentials, to CRM addresses on loopback only where the settings allow it."""
    return CrmClient(
        api_domain=api_domain,
        accounts_url=accounts_url,
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        access_token=access_token,
        access_token_expires_at=access_token_expires_at,
        allow_loopback=settings.CRM_ALLOW_LOOPBACK,
        **options,
    )


def client_for(connection: CrmConnection, **options) -> CrmClient:
    """A client for the connection that stores refreshed tokens and flags a connection whose tokens died."""

    def save_tokens(access_token: str, expires_at: datetime.datetime) -> None:
        connection.access_token = access_token
        connection.access_token_expires_at = expires_at
        connection.save(update_fields=["access_token", "access_token_expires_at"])

    def auth_failed(reason: str) -> None:
        connection_mark_needs_reauth(connection=connection, reason=reason)

    return crm_client(
        api_domain=connection.api_domain,
        accounts_url=connection.accounts_url,
        client_id=connection.client_id,
        client_secret=connection.client_secret,
        refresh_token=connection.refresh_token,
        access_token=connection.access_token or "",
        access_token_expires_at=connection.access_token_expires_at,
        on_tokens=save_tokens,
        on_auth_failure=auth_failed,
        **options,
    )


def connection_mark_needs_reauth(*, connection: CrmConnection, reason: str) -> None:
    # The reason is the CRM's word (an error code): kept short enough for the status message's column.
    reason = str(reason)[:200]
    message = f"Zoho CRM no longer accepts this connection's authorization ({reason}). Connect again to resume."
    updated = CrmConnection.objects.filter(pk=connection.pk, status=ConnectionStatus.ACTIVE).update(
        status=ConnectionStatus.NEEDS_REAUTH, status_message=message
    )
    connection.status = ConnectionStatus.NEEDS_REAUTH
    connection.status_message = message
    if updated:
        ConnectionEvent.objects.create(connection=connection, action="needs_reauth", detail=reason[:500])


def crm_users_map(*, connection: CrmConnection, crm_users: list[dict]) -> int:
    """Keep the CRM's users and match them to this organization's ERP users by email. Returns matches."""
    members = {
        (user.email or "").strip().lower(): user
        for user in get_user_model().objects.filter(
            memberships__organization=connection.organization
        ).exclude(email="")
    }
    matched = 0
    wanted: dict[str, CrmUser] = {}
    for crm_user in crm_users:  # every user is checked before anything is written
        email = crm_value(str(crm_user.get("email") or "").strip().lower(), model=CrmUser, field="email",
                          what="a user email")
        erp_user = members.get(email)
        matched += erp_user is not None
        crm_user_id = crm_value(str(crm_user.get("id")), model=CrmUser, field="crm_user_id", what="a user id")
        full_name = crm_value(crm_user.get("full_name") or "", model=CrmUser, field="full_name", what="a user name")
        wanted[crm_user_id] = CrmUser(connection=connection, crm_user_id=crm_user_id, email=email,
                                      full_name=full_name, erp_user=erp_user)
    # Read daily by the sync: write only the users that are new or changed.
    existing = {row.crm_user_id: row for row in CrmUser.objects.filter(connection=connection)}
    new, changed = [], []
    for crm_user_id, user in wanted.items():
        row = existing.get(crm_user_id)
        if row is None:
            new.append(user)
        elif (row.email, row.full_name, row.erp_user_id) != (user.email, user.full_name, user.erp_user_id):
            row.email, row.full_name, row.erp_user = user.email, user.full_name, user.erp_user
            changed.append(row)
    # Another run of the same connection may add the same users at the same moment: theirs are as good.
    CrmUser.objects.bulk_create(new, ignore_conflicts=True)
    CrmUser.objects.bulk_update(changed, ["email", "full_name", "erp_user"])
    connection.users_read_at = timezone.now()
    CrmConnection.objects.filter(pk=connection.pk).update(users_read_at=connection.users_read_at)
    return matched


def shared_details(*, organization: Organization) -> dict:
    """What connecting shares with the CRM: shown to the admin before they connect."""
    members = Membership.objects.filter(organization=organization).select_related("user").order_by("user__username")
    return {
        "organization": {"name": organization.name, "email": organization.email, "country": organization.country},
        "users": [
            {"name": m.user.get_full_name() or m.user.username, "email": m.user.email, "role": m.get_role_display()}
            for m in members
        ],
    }


@transaction.atomic
def connection_create(
    *,
    organization: Organization,
    user,
    crm_org: dict,
    api_domain: str,
    accounts_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    access_token: str = "",
    access_token_expires_at: datetime.datetime | None = None,
    crm_users: list[dict] = (),
) -> CrmConnection:
    check_prerequisites(organization=organization, crm_org=crm_org)
    existing = CrmConnection.objects.select_for_update().filter(organization=organization).first()
    if existing is not None:
        raise ConnectionRefused("This organization is already connected to a Zoho CRM organization.")
    org = crm_org_values(crm_org)
    # The addresses are Zoho's (or the sandbox's where loopback is allowed) whoever passed them in.
    api_domain = check_api_domain(api_domain, allow_loopback=settings.CRM_ALLOW_LOOPBACK)
    accounts_url = check_accounts_url(accounts_url, allow_loopback=settings.CRM_ALLOW_LOOPBACK)
    crm_org_id = org["crm_org_id"]
    # The first ERP organization connected to a CRM organization syncs both ways; later ones fetch only.
    two_way_taken = CrmConnection.objects.select_for_update().filter(crm_org_id=crm_org_id, two_way_allowed=True)
    connection = CrmConnection.objects.create(
        organization=organization,
        **org,
        api_domain=api_domain,
        accounts_url=accounts_url,
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        access_token=access_token,
        access_token_expires_at=access_token_expires_at,
        two_way_allowed=not two_way_taken.exists(),
        connected_by=user,
    )
    crm_users_map(connection=connection, crm_users=list(crm_users))
    Organization.objects.filter(pk=organization.pk).update(crm_connected=True)
    organization.crm_connected = True
    ConnectionEvent.objects.create(
        connection=connection,
        action="connected",
        user=user,
        detail=f"{connection.crm_org_name} ({crm_org_id}), {'two-way' if connection.two_way_allowed else 'one-way'}",
    )
    return connection


def crm_org_values(crm_org: dict) -> dict:
    """The connection's fields that come from the CRM's organization, each checked against its column."""
    values = {
        "crm_org_id": (crm_org.get("id") or "", "an organization id"),
        "crm_org_name": (crm_org.get("company_name") or "", "an organization name"),
        "crm_edition": (crm_edition(crm_org), "an edition"),
        "crm_currency": (str(crm_org.get("iso_code") or "").upper(), "a currency code"),
        "crm_time_zone": (crm_org.get("time_zone") or "", "a time zone"),
    }
    checked = {name: crm_value(value, model=CrmConnection, field=name, what=what)
               for name, (value, what) in values.items()}
    return {**checked, "crm_multi_currency": bool(crm_org.get("mc_status"))}


def connection_revoke(*, connection: CrmConnection) -> bool:
    """Revoke the connection's refresh token at Zoho, so that the credentials left behind (in a backup, a
    log, a copy of the database) open nothing. A failure (no answer, Zoho's error) is logged, without the
    token, and does not raise: returns whether Zoho confirmed it."""
    try:
        client_for(connection, timeout=(5.0, 15.0)).revoke_refresh_token()
    except CrmError as error:
        log.warning("the refresh token of %s's Zoho CRM connection was not revoked: %s", connection.organization,
                    error)
        return False
    return True


def connection_delete(*, connection: CrmConnection) -> None:
    """The connection and its module configurations go; the organization no longer has a CRM."""
    organization = connection.organization
    with transaction.atomic():
        connection.module_configs.all().delete()
        connection.delete()
        Organization.objects.filter(pk=organization.pk).update(crm_connected=False)
    organization.crm_connected = False


def connection_disable(*, connection: CrmConnection, user) -> CrmConnection:
    connection.status = ConnectionStatus.DISABLED
    connection.status_message = ""
    connection.save(update_fields=["status", "status_message"])
    ConnectionEvent.objects.create(connection=connection, action="disabled", user=user)
    connection_changed.send(sender=CrmConnection, connection=connection)
    return connection


def connection_enable(*, connection: CrmConnection, user, crm_org: dict, access_token: str = "",
                      refresh_token: str = "", access_token_expires_at=None) -> CrmConnection:
    """Resume a disabled (or de-authorized) connection after the admin chose the CRM organization again."""
    if str(crm_org.get("id")) != connection.crm_org_id:
        raise ConnectionRefused(
            f"This integration is connected to the CRM organization {connection.crm_org_name or connection.crm_org_id}; "
            "choose that organization to enable it, or delete the integration to connect another one."
        )
    check_prerequisites(organization=connection.organization, crm_org=crm_org)
    fields = ["status", "status_message"]
    if refresh_token:
        connection.refresh_token = refresh_token
        connection.access_token = access_token
        connection.access_token_expires_at = access_token_expires_at
        fields += ["refresh_token", "access_token", "access_token_expires_at"]
    connection.status = ConnectionStatus.ACTIVE
    connection.status_message = ""
    connection.save(update_fields=fields)
    ConnectionEvent.objects.create(connection=connection, action="enabled", user=user)
    connection_changed.send(sender=CrmConnection, connection=connection)
    return connection


def token_expiry(expires_in) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=int(expires_in or 3600))


# --- module configuration ---------------------------------------------------------------------------------


def module_config_for(*, connection: CrmConnection, module: str) -> ModuleConfig:
    config, _ = ModuleConfig.objects.get_or_create(connection=connection, module=module)
    return config


@transaction.atomic
def module_config_save(*, form, user, sync_now: bool, preview: bool = False) -> ModuleConfig:
    """Save a valid ModuleConfigForm: the configuration and its mapping; with sync_now, ask for the first
    (or next) sync; with preview, ask what the first sync would do (a module configured for the first
    time then waits, not configured, until the admin confirms it from the preview)."""
    first_time = not form.instance.configured
    module_config = form.save(commit=False)
    module_config.configured = not (preview and first_time)
    module_config.configured_at = timezone.now()
    module_config.configured_by = user
    module_config.broken_mapping = []  # the next run checks the mapping afresh
    if preview and first_time:
        module_config.next_run_at = None
    elif not sync_now and module_config.next_run_at is None:
        # Save and Sync Later: the first sync comes with the schedule, or with Instant Sync.
        module_config.schedule_next()
    elif module_config.next_run_at and module_config.next_run_at > timezone.now() + datetime.timedelta(
            minutes=module_config.interval_minutes):
        module_config.schedule_next()  # a shorter interval applies from now
    module_config.full_clean()
    module_config.save()
    module_config.field_mappings.all().delete()
    mappings = form.cleaned_data["mappings"]
    for mapping in mappings:
        mapping.module_config = module_config
    FieldMapping.objects.bulk_create(mappings)
    if module_config.configured:
        transaction.on_commit(lambda: module_configured.send(sender=ModuleConfig, module_config=module_config))
    if preview:
        # Now rather than on commit: the page (or command) that asked shows the preview next; a large one
        # goes to the background on commit by itself.
        preview_requested.send(sender=ModuleConfig, module_config=module_config)
    if sync_now:
        trigger = "initial" if first_time else "instant"
        transaction.on_commit(lambda: sync_requested.send(
            sender=ModuleConfig, module_config=module_config, trigger=trigger, user=user))
    return module_config


def module_config_confirm(*, module_config: ModuleConfig, user) -> ModuleConfig:
    """A configuration saved for a preview, confirmed from it: configured from now, and its first sync asked."""
    first_time = not module_config.configured
    module_config.configured = True
    module_config.configured_at = timezone.now()
    module_config.configured_by = user
    module_config.save(update_fields=["configured", "configured_at", "configured_by"])
    transaction.on_commit(lambda: module_configured.send(sender=ModuleConfig, module_config=module_config))
    transaction.on_commit(lambda: sync_requested.send(sender=ModuleConfig, module_config=module_config,
                                                      trigger="initial" if first_time else "instant", user=user))
    return module_config


def custom_field_from_crm(*, module_config: ModuleConfig, target: str, crm_module: str, crm_field: dict) -> CustomField:
    """Create an ERP custom field of a compatible type for a CRM field, and map the two."""
    data_type = crm_field.get("data_type") or ""
    if not catalogue.can_become_custom_field(target, crm_field):
        raise ValueError(f"A {data_type} CRM field cannot become a custom field here.")
    field_type = catalogue.CUSTOM_FIELD_FOR_CRM_TYPE[data_type]
    module = catalogue.CUSTOM_FIELD_MODULE[target]
    options = catalogue.picklist_values(crm_field) if field_type == "choice" else []
    organization = module_config.connection.organization
    label = crm_field.get("field_label") or crm_field["api_name"]
    with transaction.atomic():
        definition = CustomField.objects.filter(organization=organization, module=module,
                                                api_name=crm_field["api_name"]).first()
        if definition is None:
            definition = custom_field_create(organization=organization, module=module, label=label,
                                             data_type=field_type, api_name=crm_field["api_name"], options=options)
        FieldMapping.objects.update_or_create(
            module_config=module_config, target=target, erp_field=f"cf:{definition.api_name}",
            defaults={"crm_module": crm_module, "crm_field": crm_field["api_name"], "crm_data_type": data_type,
                      "direction": catalogue.mapping_direction(both_ways=module_config.direction == Direction.BOTH,
                                                               crm_field=crm_field)},
        )
    return definition


def module_config_json(module_config: ModuleConfig) -> dict:
    views = ("crm_view_id", "contact_view_id")
    return {
        "module": module_config.module,
        **{name: getattr(module_config, name) for name in ModuleConfig.EDITABLE_FIELDS if name not in views},
        "views": [v for v in (getattr(module_config, name) for name in views) if v],
        "configured": module_config.configured,
        "mapping": [
            {"target": m.target, "erp_field": m.erp_field, "crm_module": m.crm_module, "crm_field": m.crm_field,
             "direction": m.direction}
            for m in module_config.field_mappings.all()
        ],
    }
