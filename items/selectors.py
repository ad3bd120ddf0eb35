from django.db.models import Q
from django.shortcuts import get_object_or_404

from organizations.listing import ListSpec

from .models import Item

ITEM_LIST = ListSpec(
    search_fields=("name", "sku", "description"),
    views={
        "all": ("All Items", Q()),
        "active": ("Active Items", Q(is_active=True)),
        "inactive": ("Inactive Items", Q(is_active=False)),
        "goods": ("Goods", Q(item_type="goods")),
        "service": ("Services", Q(item_type="service")),
    },
    sorts={
        "name": ("Name A–Z", ("name", "id")),
        "-name": ("Name Z–A", ("-name", "-id")),
        "-rate": ("Price, highest first", ("-rate", "id")),
        "-created": ("Newest first", ("-created_at", "-id")),
    },
    default_sort="name",
)


def get_item_for_user(request, pk: int) -> Item:
    return get_object_or_404(Item.objects.select_related("owner"), pk=pk, organization=request.organization)
