from organizations.models import Organization

from .models import Item


def item_save(*, item: Item) -> Item:
    item.full_clean()
    item.save()
    return item


def item_create(*, organization: Organization, name: str, **fields) -> Item:
    return item_save(item=Item(organization=organization, name=name, **fields))


def item_set_active(*, item: Item, active: bool) -> Item:
    item.is_active = active
    item.save(update_fields=["is_active", "updated_at"])
    return item
