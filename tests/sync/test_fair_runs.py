"""Many organizations on one worker: a long run gives its worker back between pages and is queued again
behind the others; a CRM that asks for long waits is waited for without holding a worker."""

from __future__ import annotations

import time

import pytest

from integration import services
from sync import enqueue
from sync.models import SyncRun
from tests.sandbox import sandbox_client

from .checks import links_of
from .conftest import Crm, configure

pytestmark = pytest.mark.worker


def wait_for(*runs, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in runs:
            run.refresh_from_db()
        if all(run.status not in ("queued", "running") for run in runs):
            return
        time.sleep(0.1)
    raise AssertionError(f"runs not done: {[(r.pk, r.status) for r in runs]}")


def test_a_long_run_gives_its_worker_back_and_another_organizations_run_goes_in_between(
        connection, sandbox, actors, celery_worker, settings):
    settings.CRM_RUN_SLICE_SECONDS = 0.001  # give the worker back after every page
    sandbox.bulk("Accounts", create=[{"Account_Name": f"Long Load {n:04d}"} for n in range(900)])
    long_config = configure(connection, "customers")
    crm = sandbox_client(sandbox)
    other = services.connection_create(
        organization=actors.other_organization, user=actors.outsider, crm_org=crm.org(), api_domain=sandbox.base_url,
        accounts_url=sandbox.base_url, client_id=sandbox.client_id, client_secret=sandbox.client_secret,
        refresh_token=sandbox.refresh_token, crm_users=crm.users())
    short_config = configure(other, "vendors")

    long_run, started, _ = enqueue.sync_now(module_config=long_config, trigger="instant")
    assert started
    time.sleep(0.5)  # the long run is at work when the other organization asks
    short_run, started, _ = enqueue.sync_now(module_config=short_config, trigger="instant")
    assert started
    wait_for(long_run, short_run)

    assert (long_run.status, short_run.status) == ("succeeded", "succeeded")
    assert long_run.slices >= 3 and short_run.slices == 0
    assert short_run.finished_at < long_run.finished_at  # it did not wait for the whole long load
    assert long_run.started_at < short_run.started_at  # the long run kept its start through its slices
    assert set(links_of(connection, "Accounts")) == set(Crm(sandbox).records("Accounts", ["Account_Name"]))
    assert long_run.added == len(links_of(connection, "Accounts"))
    assert SyncRun.objects.filter(module_config=long_config).count() == 1  # one run in the history


def test_a_crm_answering_errors_is_waited_for_without_holding_the_worker(connection, sandbox, celery_worker,
                                                                          settings):
    settings.CRM_RUN_SLICE_SECONDS = 60
    config = configure(connection, "vendors")
    sandbox.config(error_rate_5xx=1.0)

    run, started, _ = enqueue.sync_now(module_config=config, trigger="instant")
    assert started
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.slices:
            break
        time.sleep(0.1)
    assert run.slices >= 1 and run.status in ("queued", "running") and run.waited_seconds > 2
    sandbox.config(error_rate_5xx=0.0)
    wait_for(run)

    assert run.status == "succeeded" and run.retries >= 3
    assert set(links_of(connection, "Vendors")) == set(Crm(sandbox).records("Vendors", ["Vendor_Name"]))


def test_runs_have_a_queue_of_their_own_and_a_worker_consumes_both_queues(celery_worker):
    from erp_crm.celery import app

    route = app.amqp.router.route({}, "sync.tasks.sync_module", args=(1,), kwargs={})
    assert route["queue"].name == "sync"
    assert app.amqp.router.route({}, "sync.tasks.tick", args=(), kwargs={})["queue"].name == "celery"
    assert {q.name for q in celery_worker.consumer.task_consumer.queues} == {"celery", "sync"}
