"""What the phases of one run share: the run, its CRM client, and what is read once per run (the CRM's
field metadata, the field specs of each adapter, whether the ERP holds unlinked records, the owners).

`RunContext` is the run; `AdapterRun` is one adapter's share of it, which every page of that adapter
is written with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import QuerySet
from django.utils import timezone

from integration.crm.client import CrmClient
from integration.models import FieldMapping, ModuleConfig

from ..models import Decision, DuplicateSuggestion, RecordLink, SyncRun
from . import cursor, erp_id
from .adapters import Adapter, CrmModuleRead, adapters_for, linked_subquery
from .bulk import TableGrowth
from .mapping import FieldSpec, plain_fields
from .owners import Owners
from .specs import specs_for


@dataclass
class AdapterRun:
    """One adapter's share of a run: what every page of its records shares."""

    run: SyncRun
    config: ModuleConfig
    adapter: Adapter
    specs: list[FieldSpec]
    # Asked (once per run, by the first page with records new to the ERP) whether the ERP holds records of
    # this kind without a link. When it does not, no duplicate can turn up and pages skip that query:
    # what a first sync into an empty ERP, and most later ones, can count on.
    may_have_duplicates: Callable[[], bool] | None = None
    client: object | None = None  # the run's CrmClient: its call and retry counts go with the progress
    # CRM user id -> ERP user id, for the users the connection matched by email: record owners.
    owners: dict[str, int] = field(default_factory=dict)
    has_decisions: bool = False  # an admin decided on possible duplicates of this module: pages look them up

    @cached_property
    def connection(self):
        return self.config.connection

    @cached_property
    def by_name(self) -> dict[str, FieldSpec]:
        return {spec.erp_field: spec for spec in self.specs}

    @cached_property
    def plain_fields(self) -> frozenset[str]:
        return plain_fields(self.by_name)

    @cached_property
    def organization(self):  # (read for every record a page makes)
        return self.connection.organization

    @cached_property
    def erp_rows(self) -> QuerySet:
        """The adapter's ERP rows of this organization (a query, built when a page needs it)."""
        return self.adapter.queryset(self.organization)

    @cached_property
    def unlinked_rows(self) -> QuerySet:
        """... those without a link of this connection."""
        return self.erp_rows.exclude(linked_subquery(connection=self.connection, adapter=self.adapter))


class RunYield(Exception):
    """A long run's slice is over: it gives its worker back and comes again where it is."""


class RunContext:
    def __init__(self, *, run: SyncRun, client: CrmClient):
        self.run = run
        self.client = client
        self.owners = Owners(self.connection)
        self.push_failed = 0  # records the CRM refused in this run's pushes
        self.fields_answered: set[str] = set()  # CRM modules whose records came with every field asked for
        self.yield_at: float | None = None  # (monotonic) when a worker's run gives its place back
        self.counted: dict[str, int | None] = {}  # records a CRM module's full pass will read, counted early
        self.growth = TableGrowth({RecordLink} | {a.model for a in adapters_for(self.config)})
        self._crm_fields: dict[str, list[dict]] = {}
        self._specs: dict[str, list[FieldSpec]] = {}
        self._unlinked: dict[str, bool] = {}

    @property
    def config(self) -> ModuleConfig:
        return self.run.module_config

    @property
    def connection(self):
        return self.config.connection

    def crm_fields(self, module: str) -> list[dict]:
        if module not in self._crm_fields:
            self._crm_fields[module] = self.client.fields(module)
        return self._crm_fields[module]

    def has_erp_id_field(self, module: str) -> bool:
        """Whether the CRM module has our ERP id field: known from the field metadata read this run (by
        the mapping check), without a call of its own."""
        fields = self._crm_fields.get(module)
        return fields is not None and any(f.get("api_name") == erp_id.FIELD for f in fields)

    def remember_crm_fields(self, module: str, fields: list[dict]) -> None:
        """Field metadata read for another purpose this run: no second read."""
        self._crm_fields[module] = fields

    def specs(self, adapter: Adapter) -> list[FieldSpec]:
        if adapter.name not in self._specs:
            rows = list(FieldMapping.objects.filter(module_config=self.config, target=adapter.target,
                                                    crm_module=adapter.crm_module))
            two_way = self.config.syncs_both_ways
            needs_meta = not rows or (two_way and any(r.crm_data_type in ("picklist", "") for r in rows))
            meta = self.crm_fields(adapter.crm_module) if needs_meta else None
            self._specs[adapter.name] = specs_for(target=adapter.target, crm_module=adapter.crm_module,
                                                  organization=self.connection.organization, mappings=rows,
                                                  crm_fields=meta, two_way=two_way)
        return self._specs[adapter.name]

    def adapter_run(self, adapter: Adapter) -> AdapterRun:
        def may_have_duplicates() -> bool:
            if adapter.name not in self._unlinked:
                self._unlinked[adapter.name] = adapter.queryset(self.connection.organization).exclude(
                    linked_subquery(connection=self.connection, adapter=adapter)).exists()
            return self._unlinked[adapter.name]

        return AdapterRun(run=self.run, config=self.config, adapter=adapter, specs=self.specs(adapter),
                          may_have_duplicates=may_have_duplicates, client=self.client,
                          owners=self.owners.by_crm_user(), has_decisions=self.has_decisions)

    def has_links(self, crm_module: str) -> bool:
        """Whether any record of the CRM module is linked on this connection."""
        return RecordLink.objects.filter(connection=self.connection, crm_module=crm_module).exists()

    @cached_property
    def has_decisions(self) -> bool:
        """Whether an admin decided on possible duplicates of this module (once per run)."""
        return DuplicateSuggestion.objects.filter(module_config=self.config).exclude(decision=Decision.PENDING).exists()

    def fetch_fields(self, read: CrmModuleRead) -> list[str]:
        """The CRM fields a read asks for: the mapped ones and what the engine itself needs."""
        names = ["id", "Modified_Time", "Owner"]
        if read.routes_by_account:
            names.append("Account_Name")
        for adapter in read.adapters:
            names += [spec.crm_field for spec in self.specs(adapter)]
        if self.state(read.crm_module).get("erp_id_field") == erp_id.FIELD or self.has_erp_id_field(read.crm_module):
            names.append(erp_id.FIELD)  # to recognise our own pushed records (also those of an earlier connection)
        return list(dict.fromkeys(names))

    # --- the cursor ---------------------------------------------------------------------------------------

    def state(self, module: str) -> dict:
        return cursor.state_of(self.config, module)

    def cursor_with(self, module: str, state: dict) -> dict:
        return cursor.cursor_with(self.config, module, state)

    def checkpoint(self) -> None:
        """Between two committed pages: the run gives its worker back once its slice is over."""
        if self.yield_at is not None and time.monotonic() > self.yield_at:
            raise RunYield

    def heartbeat(self) -> None:
        """Say the run is alive while it waits (pages say it themselves)."""
        SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())

    def note(self, text: str) -> None:
        """Something the run's history should say (a choice made, and why)."""
        self.run.notes = f"{self.run.notes}\n{text}".strip()
        SyncRun.objects.filter(pk=self.run.pk).update(notes=self.run.notes)

    def save_cursor(self, module: str, state: dict) -> None:
        """Save one CRM module's state now (outside a page's transaction)."""
        value = self.cursor_with(module, state)
        ModuleConfig.objects.filter(pk=self.config.pk).update(crm_cursor=value)
        self.config.crm_cursor = value
