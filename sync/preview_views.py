"""The preview of a module's first sync: what it would do, the possible duplicates with Accept and Reject,
and Save and Sync once the admin is content."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integration import services as integration_services
from organizations.permissions import ADMIN_ROLES, role_required

from . import enqueue, fuzzy, previews, selectors
from .engine.preview import KINDS
from .models import Decision

LABELS = {"create": "Created here", "link_erp_id": "Linked by ERP id", "link_suggestion": "Linked: accepted duplicates",
          "link_duplicate": "Linked by the duplicate rule (Overwrite)", "clone": "Cloned beside a duplicate",
          "skip": "Skipped (duplicates)", "error": "Would fail", "update": "Updated", "unchanged": "Unchanged",
          "push": "Sent to Zoho CRM"}


@role_required(*ADMIN_ROLES)
def preview(request: HttpRequest, module: str) -> HttpResponse:
    config = selectors.get_module_config_for_user(request, module)
    found = previews.current(config)
    rows = []
    if found is not None and found.result:
        rows = [{"kind": kind, "label": LABELS[kind], "count": found.result["counts"].get(kind, 0),
                 "samples": found.result["samples"].get(kind, [])} for kind in KINDS]
    context = {"module_config": config, "preview": found, "rows": rows, "default_score": fuzzy.DEFAULT_SCORE,
               "suggestions": config.duplicate_suggestions.select_related("decided_by", "used_by")[:500],
               "decisions": Decision}
    if request.htmx:
        # 286 tells htmx to stop polling: the preview is no longer running.
        done = found is None or found.status != "running"
        return render(request, "sync/partials/preview.html", context, status=286 if done else 200)
    return render(request, "sync/preview.html", context)


@role_required(*ADMIN_ROLES)
@require_POST
def preview_start(request: HttpRequest, module: str) -> HttpResponse:
    config = selectors.get_module_config_for_user(request, module)
    enqueue.preview_request(module_config=config)
    return redirect("sync:preview", module=module)


@role_required(*ADMIN_ROLES)
@require_POST
def preview_decide(request: HttpRequest, module: str) -> HttpResponse:
    """Accept or reject one suggestion, or every undecided one at or above a score."""
    config = selectors.get_module_config_for_user(request, module)
    decision = request.POST.get("decision")
    if decision not in (Decision.ACCEPTED, Decision.REJECTED, Decision.PENDING):
        return redirect("sync:preview", module=module)
    chosen = request.POST.get("suggestion", "")
    score = request.POST.get("at_least", "")
    if chosen.isascii() and chosen.isdigit():
        count = previews.decide(config, user=request.user, decision=decision, ids=[int(chosen)])
    else:
        try:
            at_least = float(score)
        except ValueError:
            messages.error(request, "Give a score from 0 to 100.")
            return redirect("sync:preview", module=module)
        count = previews.decide(config, user=request.user, decision=decision, at_least=at_least)
    messages.success(request, f"{count} suggestion{'s' if count != 1 else ''} {Decision(decision).label.lower()}. "
                              "Preview again to see what the sync would do now.")
    return redirect("sync:preview", module=module)


@role_required(*ADMIN_ROLES)
@require_POST
def preview_sync(request: HttpRequest, module: str) -> HttpResponse:
    config = selectors.get_module_config_for_user(request, module)
    integration_services.module_config_confirm(module_config=config, user=request.user)
    messages.success(request, f"{config.get_module_display()} saved; the sync is queued.")
    return redirect("sync:status", module=module)
