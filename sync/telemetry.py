"""What operators watch: a log line at each run's start and end, and the Prometheus metrics of GET /metrics.

The metrics are read from the database (and the broker's queue lengths from Redis) when Prometheus
scrapes, so every web and worker process reports the same figures without a shared registry.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from integration.models import ModuleConfig

from .models import NotificationChannel, RunStatus, SyncRun, Trigger

log = logging.getLogger("sync.runs")

COUNTS = ("added", "updated", "deleted", "skipped", "failed", "conflicts", "pushed")
DONE = (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
QUEUES = ("sync", "celery")


# --- run log lines -----------------------------------------------------------------------------------------


def _fields(run: SyncRun) -> dict:
    return {"run_id": run.pk, "organization_id": run.organization_id, "sync_module": run.module, "trigger": run.trigger}


def run_started(run: SyncRun) -> None:
    fields = _fields(run)
    log.info("sync run %s started: organization %s, %s, trigger %s", run.pk, run.organization_id, run.module,
             run.trigger, extra={"event": "run_started", **fields})


def run_finished(run: SyncRun) -> None:
    counts = {name: getattr(run, name) for name in COUNTS}
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else None
    log.info("sync run %s finished %s: organization %s, %s, %s, %s API calls, %s credits%s", run.pk, run.status,
             run.organization_id, run.module, ", ".join(f"{name} {value}" for name, value in counts.items()),
             run.api_calls, run.credits, f", {seconds:.1f} s" if seconds is not None else "",
             extra={"event": "run_finished", **_fields(run), "status": run.status, **counts,
                    "api_calls": run.api_calls, "credits": run.credits, "seconds": seconds})


# --- metrics -----------------------------------------------------------------------------------------------


class SyncCollector:
    """The sync's figures, read when scraped."""

    def collect(self):
        yield from self._runs()
        yield from self._lag()
        yield from self._queues()
        yield from self._callbacks()

    def _runs(self):
        runs = CounterMetricFamily("erp_crm_sync_runs", "Sync runs finished, by status",
                                   labels=["organization", "module", "status"])
        records = CounterMetricFamily("erp_crm_sync_records", "Records the sync wrote or refused, by kind",
                                      labels=["organization", "module", "kind"])
        calls = CounterMetricFamily("erp_crm_api_calls", "Zoho CRM API calls made by runs",
                                    labels=["organization", "module"])
        credits = CounterMetricFamily("erp_crm_api_credits", "Zoho CRM API credits spent by runs",
                                      labels=["organization", "module"])
        finished = SyncRun.objects.exclude(status__in=(RunStatus.QUEUED, RunStatus.RUNNING))
        by_status = finished.values("organization_id", "module", "status").annotate(n=Count("id"))
        for row in by_status.order_by():
            runs.add_metric([str(row["organization_id"]), row["module"], row["status"]], row["n"])
        sums = finished.values("organization_id", "module").annotate(
            **{name: Sum(name) for name in (*COUNTS, "api_calls", "credits")})
        for row in sums.order_by():
            labels = [str(row["organization_id"]), row["module"]]
            for name in COUNTS:
                records.add_metric([*labels, name], row[name] or 0)
            calls.add_metric(labels, row["api_calls"] or 0)
            credits.add_metric(labels, row["credits"] or 0)
        yield from (runs, records, calls, credits)

    def _lag(self):
        lag = GaugeMetricFamily("erp_crm_sync_lag_seconds", "Seconds since the start of the module's last "
                                "successful full run (what the ERP holds is at least this old)",
                                labels=["organization", "module"])
        latest = ModuleConfig.objects.filter(configured=True).values("connection__organization_id", "module").annotate(
            last=Max("runs__started_at", filter=Q(runs__status__in=DONE) & ~Q(
                runs__trigger__in=(Trigger.METRICS, Trigger.RESYNC, Trigger.RETRY, Trigger.APPROVAL))))
        now = timezone.now()
        for row in latest.order_by():
            if row["last"] is not None:
                lag.add_metric([str(row["connection__organization_id"]), row["module"]],
                               (now - row["last"]).total_seconds())
        yield lag
        waiting = GaugeMetricFamily("erp_crm_sync_runs_in_progress", "Sync runs queued or running",
                                    labels=["status"])
        in_progress = dict(SyncRun.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).values_list(
            "status").annotate(n=Count("id")).order_by())
        for status in (RunStatus.QUEUED, RunStatus.RUNNING):
            waiting.add_metric([status], in_progress.get(status, 0))
        yield waiting

    def _queues(self):
        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://")):
            return
        import redis

        depth = GaugeMetricFamily("erp_crm_queue_length", "Tasks waiting in the broker's queue", labels=["queue"])
        try:
            client = redis.Redis.from_url(url, socket_timeout=2)
            for queue in QUEUES:
                depth.add_metric([queue], client.llen(queue))
        except redis.RedisError as error:
            log.warning("queue lengths not read from the broker: %s", type(error).__name__)
            return
        yield depth

    def _callbacks(self):
        callbacks = CounterMetricFamily("erp_crm_webhook_callbacks", "Zoho CRM notification callbacks received",
                                        labels=["organization"])
        for organization_id, count in NotificationChannel.objects.values_list("connection__organization_id",
                                                                              "callbacks"):
            callbacks.add_metric([str(organization_id)], count)
        yield callbacks


@require_GET
def metrics_view(request):
    """Prometheus' scrape: only with the METRICS_TOKEN as a bearer token (else it is not there at all)."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        raise Http404
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SyncCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
