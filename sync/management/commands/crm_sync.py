import json
import sys
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import connection as db_connection

from sync.engine import run as engine
from sync.engine import slot
from sync.management.options import add_module_arguments, configured_module
from sync.models import RunStatus, SyncRun, Trigger

RUN_FIELDS = ["status", "trigger", "added", "updated", "deleted", "skipped", "failed", "conflicts", "pushed",
              "api_calls", "retries", "credits", "progress_done", "progress_total", "failure_reason", "notes"]


def run_json(run: SyncRun) -> dict:
    data = {"run_id": run.pk, "module": run.module, **{f: getattr(run, f) for f in RUN_FIELDS}}
    data["started_at"] = run.started_at.isoformat() if run.started_at else None
    data["finished_at"] = run.finished_at.isoformat() if run.finished_at else None
    data["seconds"] = round(run.duration.total_seconds(), 3) if run.duration else None
    return data


class Command(BaseCommand):
    help = "Run one module sync in the foreground; prints the run's counts as one JSON line at the end."

    def add_arguments(self, parser):
        add_module_arguments(parser)
        parser.add_argument("--trigger", default=Trigger.INSTANT,
                            choices=[Trigger.INSTANT, Trigger.SCHEDULED, Trigger.INITIAL])

    def handle(self, *args, **options):
        config = configured_module(options)
        run = SyncRun.objects.create(module_config=config, trigger=options["trigger"], status=RunStatus.QUEUED)
        done = threading.Event()
        watcher = None
        if sys.stderr.isatty():
            watcher = threading.Thread(target=self.show_progress, args=(run.pk, done), daemon=True)
            watcher.start()
        try:
            result = engine.run_module(run_id=run.pk)
        except KeyboardInterrupt:
            # Ctrl-C: the run ends now, said so, rather than waiting to be found stale.
            slot.finish(SyncRun.objects.get(pk=run.pk), client=None, error=slot.INTERRUPTED_REASON)
            raise CommandError(slot.INTERRUPTED_REASON) from None
        finally:
            done.set()
            if watcher:
                watcher.join(2)
        result = SyncRun.objects.select_related("module_config").get(pk=(result or run).pk)
        self.stdout.write(json.dumps(run_json(result)))
        if result.status == RunStatus.FAILED:
            raise CommandError(result.failure_reason or "The sync failed.")

    def show_progress(self, run_id: int, done: threading.Event) -> None:
        """A one-line progress bar on the terminal, from the run's own counters."""
        try:
            while not done.wait(0.5):
                run = SyncRun.objects.filter(pk=run_id).values("progress_done", "progress_total", "status").first()
                if not run:
                    continue
                total = run["progress_total"] or 0
                done_count = run["progress_done"]
                width = 30
                filled = int(width * done_count / total) if total else 0
                bar = "#" * min(filled, width) + "-" * (width - min(filled, width))
                of = f"/{total}" if total else ""
                sys.stderr.write(f"\r[{bar}] {done_count}{of} records  {run['status']}   ")
                sys.stderr.flush()
            sys.stderr.write("\n")
        finally:
            db_connection.close()
