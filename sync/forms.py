from django import forms


class DeleteIntegrationForm(forms.Form):
    mode = forms.ChoiceField(
        label="What happens to the records synced from the CRM",
        widget=forms.RadioSelect,
        choices=[
            ("all", "Convert all synced CRM records to records of this organization"),
            ("with_transactions", "Convert only the records with transactions, and delete the rest"),
        ],
    )
    confirm = forms.BooleanField(label="Yes, delete the integration",
                                 error_messages={"required": "Tick the box to confirm."})
