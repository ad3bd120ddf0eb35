"""The list pages of customers, vendors and items share one shape: search, a view filter, sorting, pages."""

from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet

PAGE_SIZE = 25


class ListPaginator(Paginator):
    """A paginator whose deep pages look up their ids first, then load only those rows.

    With a plain `OFFSET 50000` the database fetches and drops 50,000 whole rows. The ids alone come
    from the sort's index without touching the table (an index-only scan), and the page's 25 rows
    are then loaded by primary key: still one query, with the ids as a subquery.
    """

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if bottom == 0:
            return self._get_page(self.object_list[bottom:top], number, self)
        ids = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)


@dataclass
class ListSpec:
    search_fields: tuple[str, ...]
    views: dict[str, tuple[str, Q]]  # key -> (label, filter)
    sorts: dict[str, tuple[str, tuple[str, ...]]]  # key -> (label, order_by)
    default_sort: str
    extra_params: dict = field(default_factory=dict)


@dataclass
class ListState:
    q: str
    view: str
    sort: str
    page: object
    spec: ListSpec

    @property
    def views(self):
        return [(key, label) for key, (label, _) in self.spec.views.items()]

    @property
    def sorts(self):
        return [(key, label) for key, (label, _) in self.spec.sorts.items()]


def list_state(request, queryset: QuerySet, spec: ListSpec) -> ListState:
    q = request.GET.get("q", "").strip()[:100]
    view = request.GET.get("view", "")
    if view not in spec.views:
        view = next(iter(spec.views))
    sort = request.GET.get("sort", "")
    if sort not in spec.sorts:
        sort = spec.default_sort
    queryset = queryset.filter(spec.views[view][1])
    if q:
        condition = Q()
        for name in spec.search_fields:
            condition |= Q(**{f"{name}__icontains": q})
        queryset = queryset.filter(condition)
    queryset = queryset.order_by(*spec.sorts[sort][1])
    page = ListPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return ListState(q=q, view=view, sort=sort, page=page, spec=spec)
