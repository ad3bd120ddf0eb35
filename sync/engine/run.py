"""A run of one module configuration, phase by phase (DESIGN.md section 5):

0. claim the module's running slot (`slot`); check the mapped CRM fields still hold (`mapping_check`);
   read the CRM's users once a day (`owners`);
1. items both ways: push the ERP's changes and new items first (`push`), since the ERP wins their
   conflicts (a new item that looks like a CRM product waits for the fetch's duplicate rule);
2. fetch, CRM module by module, Accounts before their Contacts (`fetch`, `incoming`);
3. deletions made in the CRM (`deletions`), also in the CRM modules it only writes to;
4. both ways: push what changed here and what the CRM has never seen (`push`); customers go by type,
   business ones to Accounts and individual ones to Contacts, whichever module they are fetched from;
5. finish: counts, API calls, status, the next scheduled run (`slot.finish`).

Entry points: `run_module(run_id=...)` for a queued SyncRun, `run_now(...)` to queue and run one in this
process, `resync_link(link_id=...)` for one record, and the runs changes start by themselves
(`targeted`): `run_changes(...)` for records CRM notifications named, `push_saved(...)` for records saved
here.
"""

from __future__ import annotations

import logging
import time

from django.core.exceptions import ValidationError
from django.utils import timezone

from integration.crm.client import CrmClient
from integration.crm.errors import CrmAuthError, CrmBudgetReached, CrmError, CrmNotFound, CrmRetryLater
from integration.models import ModuleConfig
from integration.services import client_for

from .. import credits, failures
from ..models import RecordLink, RunStatus, SyncRun, Trigger
from ..selectors import module_config_for_link
from . import deletions, fetch, mapping_check, push, slot, targeted
from .adapters import adapters_for, push_adapters_for, push_only_reads, reads_for
from .context import RunContext, RunYield
from .incoming import apply_records

log = logging.getLogger("sync")


def sync(ctx: RunContext) -> None:
    """The phases of a whole run, in order."""
    config = ctx.config
    reads = reads_for(config)
    mapping_check.check(ctx)
    ctx.owners.read_users(ctx.client)
    if config.erp_goes_first:
        for adapter in adapters_for(config):
            push.push(ctx, adapter, new_records=True, before_fetch=True)
    fetch.start_bulk_reads(ctx, reads)
    for read in reads:
        fetch.fetch(ctx, read)
    ctx.growth.fetch_done()
    for read in reads + push_only_reads(config):
        deletions.deletions(ctx, read)
    if config.syncs_both_ways:
        started = timezone.now()
        for adapter in push_adapters_for(config):
            push.push(ctx, adapter, new_records=True)
        if not ctx.push_failed:
            # The next push looks only at records changed since this one began (see push.push); after a
            # failure it looks as far back as before, so that the failed records are tried again.
            ModuleConfig.objects.filter(pk=config.pk).update(last_push_at=started)
            config.last_push_at = started


def resync(ctx: RunContext, link: RecordLink) -> None:
    """One linked record fetched again and applied; gone from the CRM, it follows the deletion rules."""
    read = next(r for r in reads_for(ctx.config) if r.crm_module == link.crm_module)
    try:
        record = ctx.client.get_record(link.crm_module, link.crm_id, fields=ctx.fetch_fields(read))
    except CrmNotFound:
        deletions.record_gone(ctx, read, [link.crm_id])
        return
    apply_records(ctx, read, [record], cursor=None)


# --- entry points -------------------------------------------------------------------------------------------


def run_module(*, run_id: int, client: CrmClient | None = None, slice_seconds: float | None = None) -> SyncRun | None:
    """Run a queued SyncRun to its end (or skip it, saying why). Raises RunBusy for a duplicate delivery.
    With `slice_seconds` (a worker), a long run gives its place back after that long, and a CRM that asks
    for a long wait is waited for elsewhere: the run is then queued again (`retry_in` seconds from now)."""
    run = SyncRun.objects.select_related("module_config__connection__organization").filter(pk=run_id).first()
    if run is None or not slot.claim(run):
        return run
    return _execute(run, client=client, work=sync, slice_seconds=slice_seconds)


def run_now(*, module_config: ModuleConfig, trigger: str = Trigger.INSTANT, client: CrmClient | None = None) -> SyncRun:
    """Queue and run a module sync in this process (commands, tests, benchmarks)."""
    run = SyncRun.objects.create(module_config=module_config, trigger=trigger, status=RunStatus.QUEUED)
    return run_module(run_id=run.pk, client=client)


def resync_link(*, link_id: int, client: CrmClient | None = None) -> SyncRun | None:
    """Fetch one linked CRM record and apply it, recorded as a run with trigger "resync"."""
    link = RecordLink.objects.select_related("connection").filter(pk=link_id).first()
    if link is None:
        return None
    config = module_config_for_link(link)
    if config is None:
        return None
    run = SyncRun.objects.create(module_config=config, trigger=Trigger.RESYNC, status=RunStatus.QUEUED,
                                 progress_total=1)
    if not slot.claim(run):
        return run
    return _execute(run, client=client, work=lambda ctx: resync(ctx, link))


def run_changes(*, module_config: ModuleConfig, changes: dict[str, list[str]], since,
                client: CrmClient | None = None) -> tuple[SyncRun, float | None]:
    """Records CRM notifications named (CRM module -> ids), fetched and applied now (trigger
    "notification"). Returns the run and the lag of the latest change applied, in seconds."""
    seen = {}

    def work(ctx: RunContext) -> None:
        seen["latest"] = targeted.apply_changes(ctx, changes, since=since)

    run = _targeted(module_config, Trigger.NOTIFICATION, work, client)
    return run, targeted.lag(seen.get("latest"))


def push_saved(*, module_config: ModuleConfig, client: CrmClient | None = None) -> SyncRun:
    """Records saved here, pushed now (trigger "save")."""
    return _targeted(module_config, Trigger.SAVE, targeted.push_saved, client)


def run_retry(*, module_config: ModuleConfig, changes: dict[str, list[str]], since,
              client: CrmClient | None = None) -> SyncRun:
    """The records of open issues tried again now (trigger "retry"): fetched by id and applied, then, both
    ways, what is still to be sent pushed."""
    def work(ctx: RunContext) -> None:
        targeted.apply_changes(ctx, changes, since=since)
        if ctx.config.syncs_both_ways:
            targeted.push_saved(ctx)

    return _targeted(module_config, Trigger.RETRY, work, client)


def run_approved(*, module_config: ModuleConfig, changes: dict[str, list[str]],
                 client: CrmClient | None = None) -> SyncRun:
    """Held deletions an admin approved, applied with the deletion rules (trigger "approval")."""
    def work(ctx: RunContext) -> None:
        for read in reads_for(ctx.config):
            if changes.get(read.crm_module):
                deletions.record_gone(ctx, read, changes[read.crm_module])

    return _targeted(module_config, Trigger.APPROVAL, work, client)


def _targeted(config: ModuleConfig, trigger: str, work, client: CrmClient | None) -> SyncRun:
    run = SyncRun.objects.create(module_config=config, trigger=trigger, status=RunStatus.QUEUED)
    if not slot.claim(run):
        return run
    return _execute(run, client=client, work=work)


WAIT_ELSEWHERE_OVER = 2.0  # seconds: a worker's run gives its place back rather than sleep longer for a retry


def _execute(run: SyncRun, *, client: CrmClient | None, work, slice_seconds: float | None = None) -> SyncRun:
    run = SyncRun.objects.select_related("module_config__connection__organization").get(pk=run.pk)
    base = (run.api_calls, run.retries, run.credits)
    try:
        client = client or client_for(run.module_config.connection)
        client.credit_limit = credits.left(run.module_config.connection)
        client.credit_floor = credits.reserve(run.module_config.connection)
        ctx = RunContext(run=run, client=client)
        if slice_seconds:
            ctx.yield_at = time.monotonic() + slice_seconds
            if run.waited_seconds < client.retry_budget:  # past it, the client's own retries decide
                client.wait_elsewhere_over = WAIT_ELSEWHERE_OVER
        work(ctx)
    except RunYield:
        return slot.give_back(run, client=client, base_calls=base)
    except CrmRetryLater as later:
        return slot.give_back(run, client=client, base_calls=base, wait=later.seconds)
    except mapping_check.MappingBroken as broken:
        return slot.finish(run, client=client, base_calls=base, error=str(broken))
    except CrmBudgetReached as reached:
        return slot.finish(run, client=client, base_calls=base, stopped=True,
                           error=f"Stopped at the API credit budget: {reached} What was read so far is applied; the "
                                 "next run goes on from there once the 24-hour window gives credits back.")
    except CrmAuthError as error:
        # The client's callback has flagged the connection (needs re-authorization) already.
        return slot.finish(run, client=client, base_calls=base, error=f"Zoho CRM refused the authorization: {error}")
    except CrmError as error:
        return slot.finish(run, client=client, base_calls=base, error=f"The CRM could not be read or written: {error}")
    except ValidationError as error:  # the ERP's own words: they say what is wrong
        log.exception("sync run %s failed", run.pk)
        return slot.finish(run, client=client, base_calls=base,
                           error=f"The ERP refused: {' '.join(error.messages)}")
    except Exception as error:  # noqa: BLE001 - any failure ends the run; its detail is for the log only
        return slot.finish(run, client=client, base_calls=base,
                           error=failures.unexpected(error, f"sync run {run.pk} failed"))
    return slot.finish(run, client=client, base_calls=base)


