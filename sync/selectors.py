from django.db.models import Q
from django.shortcuts import get_object_or_404

from integration.models import ErpModel, ModuleConfig
from organizations.listing import ListSpec

from .models import EVENT_TRIGGERS, RecordLink, SyncRun

HISTORY = ListSpec(
    search_fields=(),
    # Changes on either side start many small runs a day: the history shows the others first.
    views={"runs": ("Scheduled and manual runs", ~Q(trigger__in=EVENT_TRIGGERS)),
           "events": ("Changes in seconds (notifications, saves)", Q(trigger__in=EVENT_TRIGGERS)),
           "all": ("All runs", Q())} | {
        status: (label, Q(status=status))
        for status, label in (("succeeded", "Succeeded"), ("partial", "Partly failed"), ("failed", "Failed"),
                              ("running", "Running"), ("queued", "Queued"), ("skipped", "Skipped"))
    },
    sorts={"-queued": ("Newest first", ("-queued_at", "-id")), "queued": ("Oldest first", ("queued_at", "id"))},
    default_sort="-queued",
)


def get_module_config_for_user(request, module: str) -> ModuleConfig:
    return get_object_or_404(
        ModuleConfig.objects.select_related("connection"), connection__organization=request.organization, module=module
    )


def get_run_for_user(request, pk: int) -> SyncRun:
    return get_object_or_404(
        SyncRun.objects.all(), pk=pk, organization=request.organization,
    )


def module_config_for_link(link: RecordLink) -> ModuleConfig | None:
    """The module configuration that syncs a linked record."""
    return (ModuleConfig.objects.filter(connection=link.connection, module=ErpModel(link.erp_model).module)
            .select_related("connection").first())


def link_for(*, organization, erp_model: str, erp_id: int) -> RecordLink | None:
    return RecordLink.objects.filter(
        connection__organization=organization, erp_model=erp_model, erp_id=erp_id
    ).first()


def chart_points(runs) -> list[dict]:
    """Records synced per run, oldest first, scaled for a small bar chart."""
    points = [
        {"run": r, "value": r.added + r.updated + r.deleted + r.pushed, "failed": r.failed}
        for r in reversed(list(runs))
    ]
    top = max([p["value"] + p["failed"] for p in points] + [1])
    for index, point in enumerate(points):
        point["x"] = index * 14
        point["height"] = round(CHART_HEIGHT * point["value"] / top)
        point["y"] = CHART_HEIGHT - point["height"]
        point["failed_height"] = round(CHART_HEIGHT * point["failed"] / top)
        point["failed_y"] = point["y"] - point["failed_height"]
    return points


CHART_HEIGHT = 80
