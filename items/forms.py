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

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, organization=organization, **kwargs)
        self.fields["owner"].limit_to(organization, current=self.instance.owner_id)
