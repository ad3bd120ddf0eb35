"""Previews and duplicate decisions: start a module's preview (in the request for a small module, in the
background with progress for a large one), keep its result while the configuration stands, and record
an admin's decisions on the possible duplicates it found. The first sync honours them (engine.loading)."""

from __future__ import annotations

import hashlib
import json

from django.db import transaction
from django.utils import timezone

from integration.crm.errors import CrmError
from integration.models import ModuleConfig
from integration.services import client_for

from . import failures
from .engine import preview as engine_preview
from .engine.adapters import reads_for
from .engine.context import RunContext
from .models import Decision, DuplicateSuggestion, Preview, PreviewStatus, SyncRun, Trigger

INLINE_LIMIT = 2000  # records: a preview of more runs in the background


def fingerprint(config: ModuleConfig) -> str:
    """What a preview depends on: the configuration's choices and its mapping."""
    parts = {name: getattr(config, name) for name in ModuleConfig.EDITABLE_FIELDS}
    parts["mapping"] = sorted((m.target, m.crm_module, m.crm_field, m.erp_field, m.direction)
                              for m in config.field_mappings.all())
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def current(config: ModuleConfig) -> Preview | None:
    """The module's preview, if it was made for the configuration as it stands."""
    found = Preview.objects.filter(module_config=config).first()
    return found if found is not None and found.fingerprint == fingerprint(config) else None


def start(config: ModuleConfig, *, background) -> Preview:
    """A fresh preview: worked out now when the module is small, else handed to `background(preview_id)`."""
    found, _ = Preview.objects.update_or_create(module_config=config, defaults={
        "fingerprint": fingerprint(config), "status": PreviewStatus.RUNNING, "progress_done": 0,
        "progress_total": None, "result": {}, "failure_reason": "", "finished_at": None})
    try:
        client = client_for(config.connection)
        total = sum(client.count(read.crm_module, cvid=read.view_id or None) for read in reads_for(config))
    except CrmError as error:
        return _failed(found, f"Zoho CRM could not be read: {error}")
    Preview.objects.filter(pk=found.pk).update(progress_total=total)
    if total > INLINE_LIMIT:
        transaction.on_commit(lambda: background(found.pk))
        found.progress_total = total
        return found
    return run(found.pk)


def run(preview_id: int) -> Preview:
    """Work the preview out (in a task for a large module) and keep it with its suggestions."""
    found = Preview.objects.select_related("module_config__connection__organization").get(pk=preview_id)
    config = found.module_config
    ctx = RunContext(run=SyncRun(module_config=config, trigger=Trigger.INSTANT), client=client_for(config.connection))

    def progress(done: int) -> None:
        Preview.objects.filter(pk=found.pk).update(progress_done=done)

    try:
        result = engine_preview.preview(ctx, progress=progress)
    except CrmError as error:
        return _failed(found, f"Zoho CRM could not be read: {error}")
    except Exception as error:  # noqa: BLE001 - the preview says it failed; the log has the trace
        return _failed(found, failures.unexpected(error, f"preview {found.pk} failed", stopped="The preview"))
    _keep_suggestions(config, result.pop("suggestions"))
    result["suggestions"] = config.duplicate_suggestions.count()
    found.result, found.status, found.finished_at = result, PreviewStatus.DONE, timezone.now()
    found.progress_done, found.fingerprint = result["records"], fingerprint(config)
    found.save(update_fields=["result", "status", "finished_at", "progress_done", "fingerprint"])
    return found


def _failed(found: Preview, reason: str) -> Preview:
    found.status, found.failure_reason, found.finished_at = PreviewStatus.FAILED, reason, timezone.now()
    found.save(update_fields=["status", "failure_reason", "finished_at"])
    return found


@transaction.atomic
def _keep_suggestions(config: ModuleConfig, found: list[dict]) -> None:
    """The new suggestions replace the undecided ones; decided ones stay as they were decided."""
    config.duplicate_suggestions.filter(decision=Decision.PENDING).delete()
    decided = set(config.duplicate_suggestions.values_list("crm_module", "crm_id"))
    DuplicateSuggestion.objects.bulk_create([
        DuplicateSuggestion(module_config=config, crm_module=s["crm_module"], crm_id=s["crm_id"],
                            crm_label=s["crm_label"], erp_model=s["erp_model"], erp_id=s["erp_id"],
                            erp_label=s["erp_label"], score=s["score"], agree=s["agree"])
        for s in found if (s["crm_module"], s["crm_id"]) not in decided])


def decide(config: ModuleConfig, *, user, decision: str, ids: list[int] | None = None,
           at_least: float | None = None) -> int:
    """Accept or reject suggestions: these ids, or every undecided one scoring at least `at_least`."""
    suggestions = config.duplicate_suggestions.all()
    if ids is not None:
        suggestions = suggestions.filter(pk__in=ids)
    elif at_least is not None:
        suggestions = suggestions.filter(decision=Decision.PENDING, score__gte=at_least)
    else:
        return 0
    return suggestions.update(decision=decision, decided_by=user, decided_at=timezone.now())
