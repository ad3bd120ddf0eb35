from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from organizations.custom_fields import CustomFieldsFormMixin
from organizations.forms import OwnerChoiceField

from .models import ContactPerson, Customer, InvoiceStatus
from .selectors import active_customer

CUSTOMER_FIELDS = [
    "customer_type",
    "first_name",
    "last_name",
    "display_name",
    "company_name",
    "email",
    "phone",
    "website",
    "currency",
    "owner",
    "billing_street",
    "billing_city",
    "billing_state",
    "billing_zip",
    "billing_country",
    "shipping_street",
    "shipping_city",
    "shipping_state",
    "shipping_zip",
    "shipping_country",
    "notes",
]


class CustomerForm(CustomFieldsFormMixin, forms.ModelForm):
    custom_field_module = "customers"
    owner = OwnerChoiceField()

    class Meta:
        model = Customer
        fields = CUSTOMER_FIELDS
        widgets = {"customer_type": forms.RadioSelect, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, organization=organization, **kwargs)
        self.fields["owner"].limit_to(organization, current=self.instance.owner_id)
        # ModelForm has put the new instance's empty currency in `initial` already.
        if not self.instance.pk and not self.initial.get("currency"):
            self.initial["currency"] = organization.base_currency
        self.fields["display_name"].required = False
        self.fields["display_name"].help_text = "For an individual, left empty it is the first and last name."

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("display_name") or "").strip() and not (
            cleaned.get("customer_type") == "individual" and (cleaned.get("first_name") or cleaned.get("last_name"))
        ):
            self.add_error("display_name", "This field is required.")
        return cleaned

    def clean_currency(self):
        currency = (self.cleaned_data.get("currency") or "").upper()
        if currency and (len(currency) != 3 or not currency.isalpha()):
            raise forms.ValidationError("Use a three-letter ISO currency code, such as USD.")
        return currency


class ContactPersonForm(forms.ModelForm):
    class Meta:
        model = ContactPerson
        fields = ["salutation", "first_name", "last_name", "email", "phone", "is_primary"]


class BaseContactPersonFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        primaries = [
            f
            for f in self.forms
            if f.has_changed() or f.instance.pk
            if f.cleaned_data.get("is_primary") and not f.cleaned_data.get("DELETE")
        ]
        if len(primaries) > 1:
            raise forms.ValidationError("Only one contact person can be the primary contact.")


ContactPersonFormSet = inlineformset_factory(
    Customer,
    ContactPerson,
    form=ContactPersonForm,
    formset=BaseContactPersonFormSet,
    extra=1,
    can_delete=True,
)


class InvoiceForm(forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput, error_messages={"required": "Choose a customer."})
    number = forms.CharField(max_length=40)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    total = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    amount_paid = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, initial=0, required=False)
    status = forms.ChoiceField(
        choices=[(InvoiceStatus.OPEN, "Sent"), (InvoiceStatus.DRAFT, "Draft")], initial=InvoiceStatus.OPEN
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_customer(self):
        customer = active_customer(organization=self.organization, pk=self.cleaned_data["customer"])
        if customer is None:
            raise forms.ValidationError("Choose an active customer of this organization.")
        return customer

    def clean(self):
        cleaned = super().clean()
        total, paid = cleaned.get("total"), cleaned.get("amount_paid") or 0
        if total is not None and paid > total:
            self.add_error("amount_paid", "The amount paid cannot be more than the total.")
        if cleaned.get("date") and cleaned.get("due_date") and cleaned["due_date"] < cleaned["date"]:
            self.add_error("due_date", "The due date cannot be before the invoice date.")
        number = cleaned.get("number", "").strip()
        from .models import Invoice

        if number and Invoice.objects.filter(organization=self.organization, number=number).exists():
            self.add_error("number", "An invoice with this number already exists.")
        cleaned["amount_paid"] = paid
        return cleaned


class PaymentForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0.01)
