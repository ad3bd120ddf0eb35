"""A real Celery worker, in a thread of the test process, consuming from the configured broker."""

import pytest
from celery.contrib.testing.worker import start_worker

from erp_crm.celery import app


@pytest.fixture
def celery_worker(transactional_db):
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING") as worker:
        yield worker
