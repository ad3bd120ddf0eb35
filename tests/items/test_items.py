"""Items: SKU unique per organization, validation, list filters."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from items.models import Item
from tests.factories import CustomFieldFactory, ItemFactory


def item_post(**overrides):
    data = {"item_type": "goods", "name": "Standing desk", "sku": "DESK-1", "unit": "pcs", "rate": "499.00",
            "purchase_rate": "300.00", "description": ""}
    data.update(overrides)
    return data


def test_finance_creates_an_item(actors):
    response = actors.client_for(actors.finance).post(reverse("items:create"), item_post())
    item = Item.objects.get()
    assert response["Location"] == reverse("items:detail", args=[item.pk])
    assert (item.name, item.sku, str(item.rate)) == ("Standing desk", "DESK-1", "499.00")


def test_editing_an_item_saves_its_custom_fields_and_keeps_values_of_fields_not_on_the_form(actors):
    CustomFieldFactory(organization=actors.organization, module="items", label="Warranty", api_name="Warranty",
                       data_type="number")
    item = ItemFactory(organization=actors.organization, custom_fields={"Warranty": 1, "Removed_field": "kept"})
    client = actors.client_for(actors.finance)
    assert 'name="cf__Warranty" value="1"' in client.get(reverse("items:edit", args=[item.pk])).content.decode()
    client.post(reverse("items:edit", args=[item.pk]), item_post(cf__Warranty="3"))
    item.refresh_from_db()
    assert item.custom_fields == {"Warranty": 3, "Removed_field": "kept"}


def test_a_member_can_own_an_item_and_the_detail_page_names_them(actors):
    client = actors.client_for(actors.finance)
    client.post(reverse("items:create"), item_post(owner=actors.admin.pk))
    item = Item.objects.get()
    assert item.owner == actors.admin
    page = client.get(reverse("items:detail", args=[item.pk])).content.decode()
    assert f'data-testid="owner">{actors.admin.email}<' in page


def test_an_item_owner_from_another_organization_is_refused(actors):
    client = actors.client_for(actors.finance)
    response = client.post(reverse("items:create"), item_post(owner=actors.outsider.pk))
    assert "owner" in response.context["form"].errors
    assert not Item.objects.exists()


def test_sku_must_be_unique_within_the_organization(actors):
    ItemFactory(organization=actors.organization, sku="DESK-1")
    ItemFactory(organization=actors.other_organization, sku="DESK-2")
    client = actors.client_for(actors.finance)
    response = client.post(reverse("items:create"), item_post())
    assert "Another item already has this SKU." in response.content.decode()
    assert client.post(reverse("items:create"), item_post(sku="DESK-2")).status_code == 302


def test_items_without_sku_do_not_clash(actors):
    client = actors.client_for(actors.finance)
    client.post(reverse("items:create"), item_post(sku="", name="A"))
    client.post(reverse("items:create"), item_post(sku="", name="B"))
    assert Item.objects.filter(sku="").count() == 2


def test_the_database_enforces_sku_uniqueness(db):
    item = ItemFactory(sku="X-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemFactory(organization=item.organization, sku="X-1")


def test_negative_prices_are_refused(actors):
    response = actors.client_for(actors.finance).post(reverse("items:create"), item_post(rate="-1"))
    assert response.status_code == 200
    assert not Item.objects.exists()


def test_item_list_filters_by_type_and_search(actors):
    ItemFactory(organization=actors.organization, name="Consulting", item_type="service", sku="C-1")
    ItemFactory(organization=actors.organization, name="Chair", item_type="goods", sku="CH-1")
    client = actors.client_for(actors.ops)
    services = client.get(reverse("items:list"), {"view": "service"}).context["state"].page
    assert [i.name for i in services] == ["Consulting"]
    by_sku = client.get(reverse("items:list"), {"q": "ch-1"}).context["state"].page
    assert [i.name for i in by_sku] == ["Chair"]


def test_ops_cannot_edit_items(actors):
    item = ItemFactory(organization=actors.organization)
    assert actors.client_for(actors.ops).post(reverse("items:edit", args=[item.pk]), item_post()).status_code == 403
    item.refresh_from_db()
    assert item.name != "Standing desk"
