from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import reverse

from customers.models import ContactPerson, Customer
from integration.models import ErpModel, ModuleConfig
from items.models import Item
from organizations.listing import ListSpec
from vendors.models import Vendor

from .models import EVENT_TRIGGERS, OpenIssue, RecordLink, SyncRun, TimelineEntry

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


DAY_CHART = {"width": 620, "height": 160, "left": 48, "bottom": 24, "top": 8}


def daily_chart(days: list[dict]) -> dict:
    """Bars of records synced and failed per day (health.daily), laid out for an SVG with axes: x per
    day, y scaled to the busiest day, four ticks on the y axis, a date label every week."""
    c = DAY_CHART
    plot_w, plot_h = c["width"] - c["left"] - 8, c["height"] - c["bottom"] - c["top"]
    top = max([d["records"] + d["failed"] for d in days] + [1])
    step = plot_w / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        ok_h = round(plot_h * day["records"] / top, 1)
        bad_h = round(plot_h * day["failed"] / top, 1)
        x = round(c["left"] + index * step + 1, 1)
        bars.append({**day, "x": x, "width": round(max(step - 2, 1), 1), "ok_y": round(c["top"] + plot_h - ok_h, 1),
                     "ok_h": ok_h, "bad_y": round(c["top"] + plot_h - ok_h - bad_h, 1), "bad_h": bad_h,
                     "label": day["day"].strftime("%m-%d") if index % 7 == 0 else ""})
    ticks = [{"value": round(top * n / 4), "y": round(c["top"] + plot_h - plot_h * n / 4, 1)} for n in range(5)]
    return {**c, "bars": bars, "ticks": ticks, "axis_y": c["top"] + plot_h, "axis_x_end": c["left"] + plot_w,
            "label_y": c["height"] - 6}


ERP_MODELS = {ErpModel.CUSTOMER: Customer, ErpModel.CONTACT_PERSON: ContactPerson, ErpModel.VENDOR: Vendor,
              ErpModel.ITEM: Item}
ERP_APPS = {ErpModel.CUSTOMER: "customers", ErpModel.VENDOR: "vendors", ErpModel.ITEM: "items"}


def erp_url(erp_model: str, erp_id: int | None, *, page: str = "detail") -> str:
    """An ERP record's page ("detail" or "edit", where it is fixed); a contact person's is its customer's."""
    if erp_id is None:
        return ""
    if erp_model == ErpModel.CONTACT_PERSON:
        erp_model, erp_id = ErpModel.CUSTOMER, (
            ContactPerson.objects.filter(pk=erp_id).values_list("customer_id", flat=True).first())
        if erp_id is None:
            return ""
    app = ERP_APPS.get(erp_model)
    return reverse(f"{app}:{page}", args=[erp_id]) if app else ""


def issues_shown(issues) -> list:
    """Open issues as their page shows them: each with its ERP record's name, its page and, when the ERP
    side is to fix, its edit page."""
    issues = list(issues)
    names = {}
    for erp_model in {i.erp_model for i in issues if i.erp_id is not None and i.erp_model in ERP_MODELS}:
        ids = [i.erp_id for i in issues if i.erp_model == erp_model and i.erp_id is not None]
        names[erp_model] = {pk: str(obj) for pk, obj in ERP_MODELS[erp_model].objects.in_bulk(ids).items()}
    for issue in issues:
        issue.erp_name = names.get(issue.erp_model, {}).get(issue.erp_id, "")
        exists = bool(issue.erp_name)
        issue.erp_url = erp_url(issue.erp_model, issue.erp_id) if exists else ""
        issue.edit_url = erp_url(issue.erp_model, issue.erp_id, page="edit") if exists and issue.from_erp else ""
    return issues


def record_timeline(*, organization, erp_model: str, erp_id: int, limit: int = 100) -> dict:
    """An ERP record's sync story for its page: the link, recent timeline entries, open issues."""
    link = link_for(organization=organization, erp_model=erp_model, erp_id=erp_id)
    entries = list(TimelineEntry.objects.filter(erp_model=erp_model, erp_id=erp_id).select_related("run")[:limit])
    issues = list(OpenIssue.objects.filter(module_config__connection__organization=organization, erp_model=erp_model,
                                           erp_id=erp_id, closed_at__isnull=True))
    return {"link": link, "entries": entries, "issues": issues}
