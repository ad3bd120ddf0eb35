from django import forms


class SelectOrganizationForm(forms.Form):
    crm_org_id = forms.ChoiceField(widget=forms.RadioSelect, label="CRM organization")

    def __init__(self, *args, crm_orgs: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.crm_orgs = {str(o.get("id")): o for o in crm_orgs}
        self.fields["crm_org_id"].choices = [
            (org_id, f"{o.get('company_name') or org_id} ({org_id})") for org_id, o in self.crm_orgs.items()
        ]
        if len(self.crm_orgs) == 1:
            self.fields["crm_org_id"].initial = next(iter(self.crm_orgs))

    def selected(self) -> dict:
        return self.crm_orgs[self.cleaned_data["crm_org_id"]]


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(label="Yes, I understand", error_messages={"required": "Tick the box to confirm."})
