from django import forms

from customers.models import InvoiceStatus
from organizations.custom_fields import CustomFieldsFormMixin
from organizations.forms import OwnerChoiceField

from .models import Bill, Vendor


class VendorForm(CustomFieldsFormMixin, forms.ModelForm):
    custom_field_module = "vendors"
    owner = OwnerChoiceField()

    class Meta:
        model = Vendor
        fields = [
            "display_name",
            "company_name",
            "email",
            "phone",
            "website",
            "currency",
            "owner",
            "street",
            "city",
            "state",
            "zip_code",
            "country",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, organization=organization, **kwargs)
        self.fields["owner"].limit_to(organization, current=self.instance.owner_id)
        if not self.instance.pk and not self.initial.get("currency"):
            self.initial["currency"] = organization.base_currency


class BillForm(forms.Form):
    vendor = forms.ModelChoiceField(
        queryset=Vendor.objects.none(), empty_label="Choose a vendor",
        widget=forms.Select(attrs={"data-pick-target": "vendor"}),
    )
    number = forms.CharField(max_length=40, label="Bill number")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    total = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    amount_paid = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, initial=0, required=False)
    status = forms.ChoiceField(choices=[(InvoiceStatus.OPEN, "Open"), (InvoiceStatus.DRAFT, "Draft")])
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["vendor"].queryset = Vendor.objects.filter(organization=organization, is_active=True).only(
            "id", "display_name"
        )

    def clean(self):
        cleaned = super().clean()
        total, paid = cleaned.get("total"), cleaned.get("amount_paid") or 0
        if total is not None and paid > total:
            self.add_error("amount_paid", "The amount paid cannot be more than the total.")
        if cleaned.get("date") and cleaned.get("due_date") and cleaned["due_date"] < cleaned["date"]:
            self.add_error("due_date", "The due date cannot be before the bill date.")
        vendor, number = cleaned.get("vendor"), cleaned.get("number", "").strip()
        if vendor and number and Bill.objects.filter(organization=self.organization, vendor=vendor, number=number).exists():
            self.add_error("number", "This vendor already has a bill with this number.")
        cleaned["amount_paid"] = paid
        return cleaned
