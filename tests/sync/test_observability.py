"""What operators watch: the run log lines (plain or JSON, never a secret) and the Prometheus metrics."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from erp_crm.logging import Json, RedactSecrets, redact
from sync import notifications
from tests.factories import CustomerFactory

from .conftest import configure, sync

TOKEN = "metrics-scrape-token-for-tests"


def scrape(token: str | None) -> tuple[int, str]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    response = Client().get(reverse("metrics"), **headers)
    return response.status_code, response.content.decode()


def test_metrics_need_the_token(db, settings):
    settings.METRICS_TOKEN = ""
    assert scrape(None)[0] == 404 and scrape("")[0] == 404  # off without a token
    settings.METRICS_TOKEN = TOKEN
    assert scrape(None)[0] == 404 and scrape("wrong")[0] == 404
    assert scrape(TOKEN)[0] == 200


def test_metrics_after_a_sync(connection, sandbox, actors, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.SITE_URL = "http://erp.test"
    CustomerFactory(organization=actors.organization, display_name="Pushed From Here")
    config = configure(connection, "customers", direction="both")
    channel = notifications.channel_refresh(connection=connection)
    channel.callbacks = 3
    channel.save(update_fields=["callbacks"])
    run = sync(config)

    status, text = scrape(TOKEN)

    assert status == 200
    found = {(family.name, tuple(sorted(sample.labels.items()))): sample.value
             for family in text_string_to_metric_families(text) for sample in family.samples}
    org = (("module", "customers"), ("organization", str(run.organization_id)))

    def value(name, *extra):
        return found[(name, tuple(sorted((*org, *extra))))]

    assert value("erp_crm_sync_runs", ("status", "succeeded")) == 1
    assert value("erp_crm_sync_records", ("kind", "added")) == run.added > 0
    assert value("erp_crm_sync_records", ("kind", "pushed")) == 1
    assert value("erp_crm_api_calls") == run.api_calls and value("erp_crm_api_credits") == run.credits
    assert 0 <= value("erp_crm_sync_lag_seconds") < 60
    assert found[("erp_crm_sync_runs_in_progress", (("status", "queued"),))] == 0
    assert ("erp_crm_queue_length", (("queue", "sync"),)) in found  # the tests' broker is Redis
    assert found[("erp_crm_webhook_callbacks", (("organization", str(run.organization_id)),))] == 3


def test_a_run_logs_its_start_and_end_and_no_secret(connection, sandbox, actors, settings, caplog):
    settings.SITE_URL = "http://erp.test"
    caplog.set_level(logging.DEBUG)
    CustomerFactory(organization=actors.organization, display_name="Pushed From Here")
    config = configure(connection, "customers", direction="both")
    channel = notifications.channel_refresh(connection=connection)
    run = sync(config)

    lines = [r for r in caplog.records if r.name == "sync.runs"]
    started = [r for r in lines if getattr(r, "event", "") == "run_started"]
    ended = [r for r in lines if getattr(r, "event", "") == "run_finished"]
    assert len(started) == 1 and len(ended) == 1
    assert f"sync run {run.pk} started" in started[0].getMessage()
    assert "finished succeeded" in ended[0].getMessage() and f"added {run.added}" in ended[0].getMessage()
    record = json.loads(Json().format(ended[0]))
    assert (record["event"], record["status"], record["added"], record["run_id"]) == (
        "run_finished", "succeeded", run.added, run.pk)
    assert record["level"] == "INFO" and record["logger"] == "sync.runs"

    connection.refresh_from_db()
    secrets = [connection.access_token, connection.refresh_token, connection.client_secret, channel.token]
    assert all(len(secret) > 8 for secret in secrets)
    everything = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert caplog.records and not [secret for secret in secrets if secret in everything]


@pytest.mark.parametrize("line", [
    "POST /oauth/v2/token/revoke?token=1000.0123456789abcdef.fedcba9876543210 -> 200",
    "Authorization: Zoho-oauthtoken 1000.0123456789abcdef.fedcba9876543210",
    "grant_type=refresh_token&client_secret=s3cr3t-value&refresh_token=abc",
])
def test_the_log_masks_anything_shaped_like_a_credential(line):
    masked = redact(line)
    assert "0123456789abcdef" not in masked and "s3cr3t-value" not in masked and "***" in masked
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "seen %s", (line,), None)
    RedactSecrets().filter(record)
    assert "***" in record.getMessage() and "0123456789abcdef" not in record.getMessage()
