"""The operator's pages: a module's open issues with Retry, the deletions a run held with Approve and Reject."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from organizations.permissions import ADMIN_ROLES, EDIT_ROLES, READ_ROLES, role_required

from . import operator, selectors
from .models import OpenIssue


@role_required(*READ_ROLES)
def issues(request: HttpRequest, module: str) -> HttpResponse:
    module_config = selectors.get_module_config_for_user(request, module)
    open_issues = selectors.issues_shown(operator.open_issues(module_config=module_config)[:500])
    closed = selectors.issues_shown(OpenIssue.objects.filter(module_config=module_config, closed_at__isnull=False)
                                    .order_by("-closed_at")[:50])
    return render(request, "sync/issues.html", {"module_config": module_config, "issues": open_issues,
                                                "closed": closed})


@role_required(*EDIT_ROLES)
@require_POST
def issues_retry(request: HttpRequest, module: str) -> HttpResponse:
    module_config = selectors.get_module_config_for_user(request, module)
    chosen = request.POST.get("issue", "")
    ids = [int(chosen)] if chosen.isascii() and chosen.isdigit() else None
    run = operator.issues_retry(module_config=module_config, issue_ids=ids)
    if run is None:
        messages.warning(request, "There was nothing to retry.")
    elif run.status in ("skipped", "failed", "stopped"):
        messages.error(request, f"Not retried: {run.failure_reason}")
    else:
        left = operator.open_issues(module_config=module_config).count()
        messages.success(request, f"Retried: {run.added} added, {run.updated} updated, {run.pushed} pushed, "
                                  f"{run.failed} still failing; {left} open issue{'s' if left != 1 else ''} left.")
    return redirect("sync:issues", module=module)


@role_required(*ADMIN_ROLES)
@require_POST
def held_decide(request: HttpRequest, module: str) -> HttpResponse:
    """Approve or reject held deletions: the ticked ones, or all when none is ticked."""
    module_config = selectors.get_module_config_for_user(request, module)
    crm_ids = [value for value in request.POST.getlist("crm_id") if value.isascii() and value.isdigit()] or None
    if request.POST.get("decision") == "approve":
        run = operator.held_approve(module_config=module_config, crm_ids=crm_ids)
        if run is None or run.status in ("skipped", "failed"):
            messages.error(request, f"Not applied: {run.failure_reason if run else 'nothing was held.'}")
        else:
            messages.success(request, f"Deletions applied: {run.deleted} deleted here, the rest kept and unlinked "
                                      "as the deletion rules say.")
    elif request.POST.get("decision") == "reject":
        count = operator.held_reject(module_config=module_config, crm_ids=crm_ids)
        messages.success(request, f"Kept {count} record{'s' if count != 1 else ''} here and unlinked them from "
                                  "the deleted CRM records.")
    return redirect("sync:status", module=module)
