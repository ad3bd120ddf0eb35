from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from organizations.listing import list_state
from organizations.permissions import EDIT_ROLES, READ_ROLES, role_required

from . import selectors, services
from .forms import ItemForm
from .models import Item


@role_required(*READ_ROLES)
def item_list(request: HttpRequest) -> HttpResponse:
    state = list_state(request, Item.objects.filter(organization=request.organization), selectors.ITEM_LIST)
    return render(request, "items/item_list.html", {"state": state})


@role_required(*READ_ROLES)
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "items/item_detail.html", {"item": selectors.get_item_for_user(request, pk)})


def _item_form_page(request: HttpRequest, item: Item) -> HttpResponse:
    creating = item.pk is None
    form = ItemForm(request.POST if request.method == "POST" else None, instance=item, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        item = form.save(commit=False)
        try:
            services.item_save(item=item)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Item “{item.name}” saved.")
            return redirect("items:detail", pk=item.pk)
    return render(request, "items/item_form.html", {"form": form, "item": item, "creating": creating})


@role_required(*EDIT_ROLES)
def item_create(request: HttpRequest) -> HttpResponse:
    return _item_form_page(request, Item(organization=request.organization, owner=request.user))


@role_required(*EDIT_ROLES)
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _item_form_page(request, selectors.get_item_for_user(request, pk))


@role_required(*EDIT_ROLES)
@require_POST
def item_toggle_active(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.get_item_for_user(request, pk)
    services.item_set_active(item=item, active=not item.is_active)
    messages.success(request, f"“{item.name}” is {'active again' if item.is_active else 'now inactive'}.")
    return redirect("items:detail", pk=item.pk)
