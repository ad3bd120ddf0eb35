from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from .models import CustomField, CustomFieldModule, CustomFieldType, Membership, Role, member_name
from .selectors import organization_members


class CustomFieldForm(forms.Form):
    module = forms.ChoiceField(choices=CustomFieldModule.choices)
    label = forms.CharField(max_length=80)
    data_type = forms.ChoiceField(choices=CustomFieldType.choices)
    options = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For a choice field: one option per line.",
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_options(self):
        return [line.strip() for line in self.cleaned_data["options"].splitlines() if line.strip()]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("data_type") == CustomFieldType.CHOICE and not cleaned.get("options"):
            self.add_error("options", "A choice field needs at least one option.")
        if cleaned.get("data_type") and cleaned.get("data_type") != CustomFieldType.CHOICE and cleaned.get("options"):
            self.add_error("options", "Only choice fields have options.")
        from .services import api_name_from_label

        if cleaned.get("label") and cleaned.get("module"):
            api_name = api_name_from_label(cleaned["label"])
            if CustomField.objects.filter(
                organization=self.organization, module=cleaned["module"], api_name=api_name
            ).exists():
                self.add_error("label", "This module already has a field with this name.")
        return cleaned


class SwitchOrganizationForm(forms.Form):
    organization = forms.IntegerField()


class OwnerChoiceField(forms.ModelChoiceField):
    """The member responsible for a record. Optional; a user outside the organization is an invalid choice."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Owner")
        kwargs.setdefault("required", False)
        super().__init__(queryset=get_user_model().objects.none(), empty_label="No owner", **kwargs)

    def limit_to(self, organization, *, current: int | None = None) -> None:
        """Members of `organization`; and the record's `current` owner, who may have left since, so that
        saving the record does not quietly take it away from them."""
        members = organization_members(organization=organization)
        if current is not None:
            members = get_user_model().objects.filter(Q(pk__in=members.values("pk")) | Q(pk=current)).order_by(
                "first_name", "last_name", "email", "username")
        self.queryset = members

    def label_from_instance(self, obj) -> str:
        return member_name(obj)


class AlertEmailsForm(forms.Form):
    """Which admins of the organization get sync alerts by email (all get them in the app)."""

    admins = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
                                            label="Email sync alerts to")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        admins = Membership.objects.filter(organization=organization, role=Role.ADMIN).select_related("user")
        field = self.fields["admins"]
        field.queryset = admins.order_by("user__username")
        field.label_from_instance = _admin_label
        field.initial = [m.pk for m in admins if m.alert_emails]


def _admin_label(membership: Membership) -> str:
    user = membership.user
    return f"{user.get_full_name() or user.username} ({user.email or 'no email address'})"
