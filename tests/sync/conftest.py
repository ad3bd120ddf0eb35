"""Fixtures for the sync engine: a connection to the sandbox, module configurations made directly, a
way to run a sync in this process, and readers that compare both sides."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from integration import services
from integration.models import FieldMapping, ModuleConfig
from sync.engine import run as engine
from sync.engine import slot
from sync.models import SyncRun
from tests.sandbox import crm_records, sandbox_client


@pytest.fixture
def connection(sandbox, actors):
    """A connection with a refresh token of its own: deleting the integration revokes that one only."""
    crm = sandbox_client(sandbox)
    return services.connection_create(
        organization=actors.organization, user=actors.admin, crm_org=crm.org(), api_domain=sandbox.base_url,
        accounts_url=sandbox.base_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret,
        refresh_token=sandbox.issue_refresh_token(), crm_users=crm.users(),
    )


@pytest.fixture(autouse=True)
def _release_slot_locks():
    """Runs a test claims and never finishes give their advisory locks back."""
    yield
    for run_id in list(slot._locks):
        slot.release(run_id)


@contextmanager
def worker_alive(config):
    """The module's slot lock held by another live process, as a worker running the module holds it (on
    PostgreSQL; elsewhere only the heartbeat tells)."""
    lock = slot._take_lock(config.pk)
    try:
        yield
    finally:
        if lock:
            lock.close()


def configure(connection, module: str, *, mappings: list[tuple] | None = None, **options) -> ModuleConfig:
    """A configured module. `mappings`: (target, crm_module, crm_field, crm_data_type, erp_field, direction)."""
    defaults = {"customers": {"crm_source": "accounts"}}.get(module, {})
    config = ModuleConfig.objects.create(connection=connection, module=module, configured=True,
                                         **{**defaults, **options})
    for target, crm_module, crm_field, data_type, erp_field, direction in mappings or []:
        FieldMapping.objects.create(module_config=config, target=target, crm_module=crm_module, crm_field=crm_field,
                                    crm_data_type=data_type, erp_field=erp_field, direction=direction)
    return config


def sync(config: ModuleConfig, **client_options) -> SyncRun:
    """One run in this process through the connection's own client (quick retries for the tests)."""
    config.refresh_from_db()
    client = services.client_for(config.connection, backoff_base=0.01, backoff_cap=0.05, **client_options)
    return engine.run_now(module_config=config, trigger="instant", client=client)


@dataclass
class Crm:
    """Reads the sandbox as the CRM holds it."""

    sandbox: object

    def client(self):
        return sandbox_client(self.sandbox)

    def records(self, module: str, fields: list[str]) -> dict[str, dict]:
        found = {}
        for record in crm_records(self.client(), module, fields=list(dict.fromkeys(["id", *fields]))):
            found[record["id"]] = record
        return found


@pytest.fixture
def crm(sandbox) -> Crm:
    return Crm(sandbox)
