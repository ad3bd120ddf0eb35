"""Configuring customers, vendors and items: every rule of the page, enforced on the server."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from integration import catalogue, selectors
from integration.forms import map_key
from integration.models import CrmConnection, FieldMapping, ModuleConfig
from organizations.models import CustomField
from sync.models import SyncRun
from tests.sandbox import sandbox_client


def page(client, module, **query):
    return client.get(reverse("integration:configure", args=[module]), query)


def form_data(response, **overrides) -> dict:
    """The page's own form as a browser would post it, with some fields changed."""
    form = response.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value in (None, False):
            continue
        data[name] = "on" if value is True else value
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def save(client, module, data, how="later"):
    return client.post(reverse("integration:configure", args=[module]), {**data, "save": how})


@pytest.fixture
def admin(actors, sandbox, connection):
    return actors.client_for(actors.admin)


def test_suggested_pairs_are_mapped_automatically(admin):
    form = page(admin, "customers").context["form"]
    assert form[map_key("customer", "display_name")].value() == "Account_Name"
    assert form[map_key("customer", "billing_zip")].value() == "Billing_Code"
    items = page(admin, "items").context["form"]
    assert items[map_key("item", "sku")].value() == "Product_Code"
    assert items[map_key("item", "rate")].value() == "Unit_Price"
    assert items[map_key("item", "item_type")].value() == "Product_Type"  # Goods / Services picklist


def test_opening_the_page_saves_nothing_and_saving_the_form_makes_the_module(admin, connection):
    for module in ("customers", "vendors", "items"):
        assert page(admin, module).status_code == 200
        assert page(admin, module).context["form"].instance.pk is None
    assert not ModuleConfig.objects.exists()
    assert "Configured" not in admin.get(reverse("integration:details")).content.decode()
    save(admin, "vendors", form_data(page(admin, "vendors")))
    assert list(ModuleConfig.objects.values_list("module", "configured")) == [("vendors", True)]
    assert page(admin, "vendors").context["form"].instance.configured


def test_save_and_sync_later_saves_and_queues_nothing(admin, connection):
    response = save(admin, "customers", form_data(page(admin, "customers")))
    assert response.status_code == 302
    config = ModuleConfig.objects.get(connection=connection, module="customers")
    assert config.configured and config.crm_source == "accounts"
    assert FieldMapping.objects.filter(module_config=config, erp_field="display_name", crm_field="Account_Name").exists()
    assert not SyncRun.objects.exists()
    details = admin.get(reverse("integration:details")).content.decode()
    assert "Configured" in details and "Edit" in details


def test_save_and_sync_queues_the_first_sync_without_pretending_it_ran(
    admin, connection, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("sync.tasks.sync_module.delay", lambda run_id: sent.append(run_id))
    with django_capture_on_commit_callbacks(execute=True):
        save(admin, "vendors", form_data(page(admin, "vendors")), how="sync")
    run = SyncRun.objects.get(module_config__module="vendors")
    # Queued for a worker, and only that: nothing ran in the request, nothing claims to have.
    assert (run.trigger, run.status, run.started_at, run.finished_at) == ("initial", "queued", None, None)
    assert sent == [run.pk]


def test_accounts_and_contacts_with_orphans_and_two_views(admin, connection, sandbox):
    response = page(admin, "customers", crm_source="accounts_and_contacts")
    form = response.context["form"]
    assert "include_orphan_contacts" in form.fields and "contact_view_id" in form.fields
    account_view = form.fields["crm_view_id"].choices[1][0]
    contact_view = form.fields["contact_view_id"].choices[1][0]
    data = form_data(response, crm_source="accounts_and_contacts", include_orphan_contacts="on", direction="both",
                     duplicate_action="overwrite", crm_view_id=account_view, contact_view_id=contact_view)
    assert save(admin, "customers", data).status_code == 302
    config = ModuleConfig.objects.get(module="customers")
    assert (config.crm_source, config.include_orphan_contacts, config.direction, config.duplicate_action) == (
        "accounts_and_contacts", True, "both", "overwrite")
    assert (config.crm_view_id, config.contact_view_id) == (account_view, contact_view)
    assert FieldMapping.objects.filter(module_config=config, target="contact_person", crm_field="Last_Name").exists()


def test_orphan_contacts_are_refused_without_accounts_and_contacts(admin):
    data = form_data(page(admin, "customers"), include_orphan_contacts="on")
    response = save(admin, "customers", data)
    assert "can only be included with Accounts &amp; their Contacts" in response.content.decode()
    assert not ModuleConfig.objects.filter(configured=True).exists()


def test_only_the_crm_modules_of_the_chosen_source_are_read(sandbox):
    def read(crm_source):
        metadata = selectors.metadata_load(client=sandbox_client(sandbox), module="customers", crm_source=crm_source)
        return sorted(metadata.fields), sorted(metadata.views)

    assert read("accounts") == (["Accounts"], ["Accounts"])
    assert read("contacts") == (["Contacts"], ["Contacts"])
    assert read("accounts_and_contacts") == (["Accounts", "Contacts"], ["Accounts", "Contacts"])


def test_views_are_read_live_from_the_crm(admin, sandbox):
    views = page(admin, "vendors").context["form"].fields["crm_view_id"].choices
    crm_views = [v for v in sandbox_client(sandbox).custom_views("Vendors") if not v.get("default")]
    assert views[0] == ("", "All Vendors")
    assert [v[0] for v in views[1:]] == [str(v["id"]) for v in crm_views] and crm_views


def test_an_unknown_view_is_refused(admin):
    response = save(admin, "vendors", form_data(page(admin, "vendors"), crm_view_id="999"))
    assert "Select a valid choice" in response.content.decode()


def test_sync_both_ways_is_not_offered_on_a_one_way_connection(admin, connection):
    CrmConnection.objects.filter(pk=connection.pk).update(two_way_allowed=False)
    response = page(admin, "customers")
    assert [c[0] for c in response.context["form"].fields["direction"].choices] == ["fetch"]
    refused = save(admin, "customers", form_data(response, direction="both"))
    assert "Select a valid choice" in refused.content.decode()
    assert not ModuleConfig.objects.filter(configured=True).exists()


def test_items_by_sku_never_clone(admin):
    response = save(admin, "items", form_data(page(admin, "items"), duplicate_key="sku", duplicate_action="clone"))
    assert "Clone is not offered when duplicates are identified by SKU." in response.content.decode()


def test_items_by_sku_need_the_sku_product_code_mapping(admin):
    data = form_data(page(admin, "items"), duplicate_key="sku", duplicate_action="overwrite",
                     **{map_key("item", "sku"): ""})
    response = save(admin, "items", data)
    assert "Identifying duplicates by SKU needs SKU mapped to the CRM Product Code." in response.content.decode()
    data[map_key("item", "sku")] = "Product_Code"
    assert save(admin, "items", data).status_code == 302


def test_required_erp_fields_must_be_mapped(admin):
    response = save(admin, "customers", form_data(page(admin, "customers"), **{map_key("customer", "display_name"): ""}))
    assert "Display name must be mapped to a CRM field." in response.content.decode()


def test_a_text_crm_field_cannot_feed_a_decimal_field(admin):
    response = save(admin, "items", form_data(page(admin, "items"), **{map_key("item", "rate"): "Product_Name"}))
    content = response.content.decode()
    assert "cannot feed Selling price (decimal)" in content
    assert not ModuleConfig.objects.filter(configured=True).exists()


def test_a_picklist_feeds_a_choice_field_only_when_its_options_cover_it(admin, actors):
    CustomField.objects.create(organization=actors.organization, module="customers", label="Segment",
                               api_name="Segment", data_type="choice", options=["Retail"])
    data = form_data(page(admin, "customers"), **{map_key("customer", "cf:Segment"): "Industry"})
    response = save(admin, "customers", data)
    assert "has values that Segment does not offer" in response.content.decode()


def test_fields_only_on_another_layout_are_not_offered_and_the_page_says_why(admin):
    response = page(admin, "customers")
    choices = [c[0] for c in response.context["form"].fields[map_key("customer", "notes")].choices]
    assert "Wholesale_Discount" not in choices
    assert "Wholesale Discount is only on the Wholesale layout" in response.content.decode()


def test_read_only_crm_fields_are_mapped_fetch_only_when_syncing_both_ways(admin):
    data = form_data(page(admin, "customers", crm_source="contacts"), crm_source="contacts", direction="both",
                     **{map_key("customer", "display_name"): "Full_Name"})
    assert save(admin, "customers", data).status_code == 302
    mapping = FieldMapping.objects.get(erp_field="display_name")
    assert (mapping.crm_field, mapping.direction) == ("Full_Name", "fetch")
    assert FieldMapping.objects.get(erp_field="last_name").direction == "both"


def test_create_custom_field_makes_a_compatible_erp_field_and_maps_it(admin, actors):
    page(admin, "customers")
    response = admin.post(
        reverse("integration:create_custom_field", args=["customers"]),
        {"target": "customer", "crm_module": "Accounts", "crm_field": "Industry"},
    )
    assert response.status_code == 302
    field = CustomField.objects.get(organization=actors.organization, module="customers", api_name="Industry")
    assert field.data_type == "choice" and "Retail" in field.options and "-None-" not in field.options
    form = page(admin, "customers").context["form"]
    assert form[map_key("customer", "cf:Industry")].value() == "Industry"
    assert form[map_key("customer", "display_name")].value() == "Account_Name"  # suggestions kept
    employees = admin.post(reverse("integration:create_custom_field", args=["customers"]),
                           {"target": "customer", "crm_module": "Accounts", "crm_field": "Employees"})
    assert employees.status_code == 302
    assert CustomField.objects.get(api_name="Employees").data_type == "number"


def test_a_read_only_crm_field_made_into_a_custom_field_is_only_fetched(admin, connection):
    ModuleConfig.objects.create(connection=connection, module="customers", direction="both")
    response = admin.post(reverse("integration:create_custom_field", args=["customers"]),
                          {"target": "customer", "crm_module": "Contacts", "crm_field": "Full_Name"})
    assert response.status_code == 302
    assert FieldMapping.objects.get(erp_field="cf:Full_Name").direction == "fetch"
    admin.post(reverse("integration:create_custom_field", args=["customers"]),
               {"target": "customer", "crm_module": "Accounts", "crm_field": "Employees"})
    assert FieldMapping.objects.get(erp_field="cf:Employees").direction == "both"


def test_the_times_the_crm_sets_count_as_read_only():
    assert catalogue.crm_field_read_only({"api_name": "Modified_Time", "data_type": "datetime", "read_only": False})
    assert catalogue.crm_field_read_only({"api_name": "Formula_1", "data_type": "formula", "field_read_only": True})
    assert not catalogue.crm_field_read_only({"api_name": "Phone", "data_type": "phone", "read_only": False})
    # Zoho's Full_Name says read_only false, but the API may not update it.
    assert catalogue.crm_field_read_only({"api_name": "Full_Name", "data_type": "text", "read_only": False,
                                          "operation_type": {"api_update": False, "api_create": False}})
    assert not catalogue.crm_field_read_only({"api_name": "Phone", "data_type": "phone", "read_only": False,
                                              "operation_type": {"api_update": True, "api_create": True}})


def test_mapping_is_refused_when_crm_multi_currency_differs(admin, sandbox):
    sandbox.set_org(mc_status=True, iso_code="EUR")
    response = page(admin, "customers")
    assert "base currency is EUR" in response.content.decode()
    refused = save(admin, "customers", form_data(response))
    assert "Fields cannot be mapped until they are the same" in refused.content.decode()
    assert not ModuleConfig.objects.filter(configured=True).exists()


def test_editing_applies_to_the_next_run(admin):
    save(admin, "vendors", form_data(page(admin, "vendors")))
    response = page(admin, "vendors")
    assert response.context["form"]["duplicate_action"].value() == "skip"
    save(admin, "vendors", form_data(response, duplicate_action="clone"))
    assert ModuleConfig.objects.get(module="vendors").duplicate_action == "clone"


@pytest.mark.parametrize("role", ["finance", "ops"])
def test_only_admins_configure(actors, sandbox, connection, role):
    client = actors.client_for(getattr(actors, role))
    assert client.get(reverse("integration:configure", args=["customers"])).status_code == 403
    assert client.post(reverse("integration:create_custom_field", args=["customers"])).status_code == 403


def run_configure(*args) -> dict:
    out = StringIO()
    call_command("crm_configure", *args, stdout=out)
    return json.loads(out.getvalue())


def test_crm_configure_command_applies_the_same_rules(actors, sandbox, connection):
    org = actors.organization.name
    result = run_configure("--org", org, "--module", "customers", "--crm-source", "accounts_and_contacts",
                           "--include-orphan-contacts", "--direction", "both", "--duplicate-action", "overwrite",
                           "--auto-map", "--map", "contact_person.designation=Department")
    assert result["crm_source"] == "accounts_and_contacts" and result["include_orphan_contacts"] is True
    assert {"target": "contact_person", "erp_field": "designation", "crm_module": "Contacts",
            "crm_field": "Department", "direction": "both"} in result["mapping"]
    with pytest.raises(CommandError, match="Clone is not offered"):
        run_configure("--org", org, "--module", "items", "--duplicate-key", "sku", "--duplicate-action", "clone",
                      "--auto-map")
    with pytest.raises(CommandError, match="must be mapped"):
        run_configure("--org", org, "--module", "vendors")


@pytest.mark.parametrize(("option", "value"), [("--hold-over", "-1"), ("--hold-over", str(2**31)),
                                               ("--hold-over-percent", "101"), ("--hold-over-percent", "-5")])
def test_crm_configure_refuses_hold_thresholds_out_of_range_with_a_reason(actors, sandbox, connection, option, value):
    with pytest.raises(CommandError, match="The configuration was refused:\n  hold_over.*(greater|less) than"):
        run_configure("--org", actors.organization.name, "--module", "vendors", "--auto-map", option, value)
    assert not ModuleConfig.objects.filter(configured=True).exists()


def test_a_field_renamed_in_the_crm_keeps_its_mapping_and_shows_its_new_label(admin, sandbox):
    save(admin, "customers", form_data(page(admin, "customers")))
    sandbox.rename_field("Accounts", "Billing_Code", "Postal Code")
    response = page(admin, "customers")
    form = response.context["form"]
    assert form[map_key("customer", "billing_zip")].value() == "Billing_Code"
    assert "Postal Code (text)" in response.content.decode()
    assert save(admin, "customers", form_data(response)).status_code == 302
    assert FieldMapping.objects.get(erp_field="billing_zip").crm_field == "Billing_Code"


# --- the help page's rules and a user's words ----------------------------------------------------------------


def test_save_and_sync_later_waits_for_the_schedule_and_the_status_page_says_when(admin, connection,
                                                                                  django_capture_on_commit_callbacks):
    from django.utils import timezone

    from sync import tasks

    save(admin, "vendors", form_data(page(admin, "vendors")), how="later")
    config = ModuleConfig.objects.get(connection=connection, module="vendors")
    assert config.next_run_at is not None
    assert abs((config.next_run_at - timezone.now()).total_seconds() - 120 * 60) < 60
    with django_capture_on_commit_callbacks():
        assert tasks.tick() == 0  # the next minute's tick queues nothing
    assert not SyncRun.objects.exists()
    status = admin.get(reverse("sync:status", args=["vendors"])).content.decode()
    assert f"Next scheduled sync: {timezone.localtime(config.next_run_at):%Y-%m-%d %H:%M} (every 2 hours)" in status


def test_by_sku_the_clone_choice_is_not_shown(admin, connection):
    by_name = page(admin, "items").content.decode()
    assert '<label class="choice" data-choice="clone">' in by_name
    ModuleConfig.objects.create(connection=connection, module="items", duplicate_key="sku",
                                duplicate_action="overwrite")
    by_sku = page(admin, "items").content.decode()
    assert '<label class="choice" data-choice="clone" hidden>' in by_sku


def test_the_page_speaks_of_erp_and_zoho_crm_fields_and_where_customers_go(admin):
    text = page(admin, "customers").content.decode()
    assert "<th>ERP field</th>" in text and "Field here" not in text
    assert "Zoho CRM fields not mapped to an ERP field" in text and "without a field here" not in text
    assert "business customers go to Accounts, individual customers to Contacts" in text


def test_the_crm_fields_the_sync_makes_are_neither_mapped_nor_offered_as_custom_fields(admin, sandbox):
    crm = sandbox_client(sandbox)
    for label, data_type in (("ERP Id", "text"), ("ERP Total Sales", "currency")):
        assert crm.create_field("Accounts", {"field_label": label, "data_type": data_type}).ok
    response = page(admin, "customers")
    offered = {name for name, _ in response.context["form"].fields[map_key("customer", "notes")].choices}
    unmapped = {row["field"]["api_name"] for row in response.context["unmapped"]}
    assert "ERP_Id" not in offered | unmapped and "ERP_Total_Sales" not in offered | unmapped
    assert "Industry" in unmapped  # other CRM fields still are
