"""sync_module through the real broker with a real Celery worker."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from erp_crm.celery import app
from sync import enqueue
from sync.models import SyncRun

from .checks import links_of
from .conftest import Crm, configure


@pytest.fixture
def celery_worker(transactional_db):
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING") as worker:
        yield worker


@pytest.mark.worker
def test_an_instant_sync_runs_on_the_worker(connection, sandbox, celery_worker):
    config = configure(connection, "vendors")

    run, started, message = enqueue.sync_now(module_config=config, trigger="instant")

    assert started, message
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert (run.status, run.failure_reason) == ("succeeded", "")
    assert set(links_of(connection, "Vendors")) == set(Crm(sandbox).records("Vendors", ["Vendor_Name"]))
    assert run.api_calls > 0 and SyncRun.objects.filter(module_config=config).count() == 1
