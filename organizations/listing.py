"""The list pages of customers, vendors and items share one shape: search, a view filter, sorting, pages."""

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

PAGE_SIZE = 25
# What a search box or a lookup reads of what is typed: longer input is searched by its first this many
# characters (no name or email here is that long, and the database is not asked to match pages of text).
MAX_QUERY = 100


class ListPaginator(Paginator):
    """A paginator that finds a page's ids first and then loads just those rows, in one query each.

    Without a search, a deep page's `OFFSET 50000` would fetch and drop 50,000 whole rows; the ids
    alone come from the sort's index (an index-only scan), as a subquery of the page's query.

    With a search (`ids_first`), all matching ids are read at once, in order, and counted in Python:
    the database reads the matches once instead of twice (count, then page). It also keeps PostgreSQL
    from walking the whole sort index for page 1 of a term whose matches sort late ("Willow ..."),
    which a `LIMIT 25` invites when the term looks common.
    """

    def __init__(self, object_list, per_page, *, ids_first: bool = False, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.ids_first = ids_first

    @cached_property
    def matching_ids(self) -> list:
        return list(self.object_list.values_list("pk", flat=True))

    @cached_property
    def count(self) -> int:
        return len(self.matching_ids) if self.ids_first else super().count

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if self.ids_first:
            rows = self.object_list.filter(pk__in=self.matching_ids[bottom:top])
        elif bottom == 0:
            rows = self.object_list[:top]
        else:
            rows = self.object_list.filter(pk__in=self.object_list.values("pk")[bottom:top])
        return self._get_page(rows, number, self)


@dataclass
class ListSpec:
    search_fields: tuple[str, ...]
    views: dict[str, tuple[str, Q]]  # key -> (label, filter)
    sorts: dict[str, tuple[str, tuple[str, ...]]]  # key -> (label, order_by)
    default_sort: str
    crm_views: tuple[str, ...] = ()  # views offered only while the organization has a CRM connected

    def views_for(self, organization) -> dict[str, tuple[str, Q]]:
        if getattr(organization, "crm_connected", False):
            return self.views
        return {key: view for key, view in self.views.items() if key not in self.crm_views}


@dataclass
class ListState:
    q: str
    view: str
    sort: str
    page: object
    spec: ListSpec
    offered: dict  # the views offered to this organization

    @property
    def views(self):
        return [(key, label) for key, (label, _) in self.offered.items()]

    @property
    def sorts(self):
        return [(key, label) for key, (label, _) in self.spec.sorts.items()]


# The largest id a BigAutoField holds: a larger number in a query string matches no row, and is not sent.
MAX_ID = 2**63 - 1


def ascii_digits(text: str) -> bool:
    """Whether `text` is a non-empty run of 0-9: "²" or "١٢" pass `str.isdigit()` but are no number here."""
    return text.isascii() and text.isdecimal()


def record_id(text: str | None) -> int | None:
    """The id a link or form names (`?customer=12`), or None when it is not one (not ascii_digits, or past
    MAX_ID, which would overflow the database's bigint)."""
    text = (text or "").strip()
    if not ascii_digits(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def search_condition(search_fields, q: str) -> Q:
    """Rows where any of `search_fields` contains `q`, whatever the case."""
    condition = Q()
    for name in search_fields:
        condition |= Q(**{f"{name}__icontains": q})
    return condition


def list_state(request, queryset: QuerySet, spec: ListSpec) -> ListState:
    q = request.GET.get("q", "").strip()[:MAX_QUERY]
    offered = spec.views_for(getattr(request, "organization", None))
    view = request.GET.get("view", "")
    if view not in offered:
        view = next(iter(offered))
    sort = request.GET.get("sort", "")
    if sort not in spec.sorts:
        sort = spec.default_sort
    queryset = queryset.filter(spec.views[view][1])
    if q:
        queryset = queryset.filter(search_condition(spec.search_fields, q))
    queryset = queryset.order_by(*spec.sorts[sort][1])
    # A term of three letters or more is looked up in the trigram indexes, which find its ids cheaply;
    # a shorter one is read from the whole table, and for page 1 stopping after 25 matches is cheaper.
    page = ListPaginator(queryset, PAGE_SIZE, ids_first=len(q) >= 3).get_page(request.GET.get("page"))
    return ListState(q=q, view=view, sort=sort, page=page, spec=spec, offered=offered)
