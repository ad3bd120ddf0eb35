from django import forms

from organizations.custom_fields import CustomFieldsFormMixin
from organizations.forms import OwnerChoiceField

from .models import Item


class ItemForm(CustomFieldsFormMixin, forms.ModelForm):
    custom_field_module = "items"
    owner = OwnerChoiceField()

    class Meta:
        model = Item
        fields = ["item_type", "name", "sku", "unit", "rate", "purchase_rate", "description", "owner"]
        widgets = {"item_type": forms.RadioSelect, "description": forms.Textarea(attrs={"rows": 3})}
