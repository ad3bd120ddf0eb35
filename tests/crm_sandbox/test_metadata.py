import pytest
import requests

from .conftest import assert_error

MODULES = ["Accounts", "Contacts", "Vendors", "Products"]
FIELD_KEYS = {"id", "api_name", "field_label", "display_label", "data_type", "json_type", "length",
              "system_mandatory", "custom_field", "read_only", "pick_list_values", "lookup", "unique",
              "layout_associations"}


def test_org_is_a_professional_usd_org_with_zgid(crm):
    org = crm.get("/org").json()["org"]
    assert len(org) == 1
    org = org[0]
    assert org["zgid"] and org["company_name"] and "@" in org["primary_email"]
    assert (org["iso_code"], org["mc_status"], org["country"]) == ("USD", False, "United States")
    assert org["license_details"]["paid_type"] == "professional"


def test_org_changes_through_the_control_endpoint(crm):
    crm.sandbox.set_org(edition="enterprise", mc_status=True, iso_code="EUR", company_name="Zylker Europe")
    org = crm.get("/org").json()["org"][0]
    assert (org["license_details"]["paid_type"], org["mc_status"], org["iso_code"], org["company_name"]) == (
        "enterprise", True, "EUR", "Zylker Europe")


def test_currencies_need_multi_currency(crm):
    assert crm.get("/org/currencies").status_code == 204
    crm.sandbox.set_org(mc_status=True)
    currencies = crm.get("/org/currencies").json()["currencies"]
    base = [c for c in currencies if c["is_base"]]
    assert [c["iso_code"] for c in base] == ["USD"]
    assert all(isinstance(c["exchange_rate"], str) for c in currencies)


@pytest.mark.parametrize(("kind", "count"), [("AllUsers", 3), ("ActiveUsers", 3), ("CurrentUser", 1),
                                             ("AdminUsers", 1)])
def test_users_by_type(crm, kind, count):
    users = crm.get("/users", params={"type": kind}).json()["users"]
    assert len(users) == count
    assert all("@" in user["email"] and user["status"] == "active" for user in users)


def test_current_user_and_one_user(crm):
    me = crm.get("/users", params={"type": "CurrentUser"}).json()["users"][0]
    assert me["profile"]["name"] == "Administrator"
    assert crm.get(f"/users/{me['id']}").json()["users"][0]["email"] == me["email"]
    assert crm.get("/users", params={"type": "DeactiveUsers"}).status_code == 204


def test_modules_lists_the_four_synced_modules(crm):
    modules = crm.get("/settings/modules").json()["modules"]
    assert [m["api_name"] for m in modules] == MODULES
    assert all(m["api_supported"] for m in modules)
    assert crm.get("/settings/modules/Vendors").json()["modules"][0]["singular_label"] == "Vendor"


@pytest.mark.parametrize("module", MODULES)
def test_fields_metadata_has_zoho_keys(crm, module):
    fields = crm.get("/settings/fields", params={"module": module}).json()["fields"]
    assert all(FIELD_KEYS <= set(field) for field in fields)
    names = {field["api_name"] for field in fields}
    assert {"Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By"} <= names
    mandatory = [field["api_name"] for field in fields if field["system_mandatory"]]
    assert mandatory == {"Accounts": ["Account_Name"], "Contacts": ["Last_Name"], "Vendors": ["Vendor_Name"],
                         "Products": ["Product_Name"]}[module]


def test_lookup_and_picklist_details(crm):
    contact_fields = {f["api_name"]: f for f in crm.get("/settings/fields", params={"module": "Contacts"}).json()["fields"]}
    assert contact_fields["Account_Name"]["data_type"] == "lookup"
    assert contact_fields["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    product_fields = {f["api_name"]: f for f in crm.get("/settings/fields", params={"module": "Products"}).json()["fields"]}
    product_type = product_fields["Product_Type"]
    assert product_type["custom_field"] is True and product_type["data_type"] == "picklist"
    assert {"Goods", "Services"} <= {value["display_value"] for value in product_type["pick_list_values"]}
    assert product_fields["Vendor_Name"]["lookup"]["module"]["api_name"] == "Vendors"


def test_second_layout_has_its_own_custom_field(crm):
    layouts = crm.get("/settings/layouts", params={"module": "Accounts"}).json()["layouts"]
    assert [layout["name"] for layout in layouts] == ["Standard", "Wholesale"]
    fields = {f["api_name"]: f for f in crm.get("/settings/fields", params={"module": "Accounts"}).json()["fields"]}
    assert [a["name"] for a in fields["Wholesale_Discount"]["layout_associations"]] == ["Wholesale"]
    assert [a["name"] for a in fields["Account_Name"]["layout_associations"]] == ["Standard", "Wholesale"]
    standard_fields = {f["api_name"] for f in layouts[0]["sections"][0]["fields"]}
    assert "Wholesale_Discount" not in standard_fields and "Account_Name" in standard_fields
    only_standard = crm.get("/settings/fields", params={"module": "Accounts", "layout_id": layouts[0]["id"]})
    assert "Wholesale_Discount" not in {f["api_name"] for f in only_standard.json()["fields"]}


def test_custom_views_list_and_detail(crm):
    body = crm.get("/settings/custom_views", params={"module": "Accounts"}).json()
    views = body["custom_views"]
    assert 2 <= len(views) <= 3
    assert views[0]["name"] == "All Accounts" and views[0]["default"] is True
    assert body["info"]["default"] == views[0]["id"]
    detail = crm.get(f"/settings/custom_views/{views[1]['id']}", params={"module": "Accounts"}).json()
    criteria = detail["custom_views"][0]["criteria"]
    assert criteria["comparator"] == "equal" and criteria["field"]["api_name"] == "Industry" and criteria["field"]["id"]


def test_metadata_needs_a_known_module(crm):
    assert_error(crm.get("/settings/fields"), 400, "REQUIRED_PARAM_MISSING")
    assert_error(crm.get("/settings/fields", params={"module": "Leads"}), 400, "INVALID_MODULE")
    assert_error(crm.get("/settings/custom_views/123", params={"module": "Accounts"}), 400, "INVALID_DATA")


def test_a_renamed_field_keeps_its_api_name(crm, crm_sandbox):
    renamed = crm_sandbox.rename_field("Accounts", "Billing_Code", "Postal Code")
    assert (renamed["api_name"], renamed["field_label"]) == ("Billing_Code", "Postal Code")
    fields = {f["api_name"]: f for f in crm.get("/settings/fields", params={"module": "Accounts"}).json()["fields"]}
    assert fields["Billing_Code"]["field_label"] == "Postal Code"
    crm_sandbox.reset()
    fields = {f["api_name"]: f for f in crm.get("/settings/fields", params={"module": "Accounts"}).json()["fields"]}
    assert fields["Billing_Code"]["field_label"] == "Billing Code"


def _region(crm) -> str:
    response = crm.post("/settings/fields", params={"module": "Accounts"},
                        json={"fields": [{"field_label": "Region", "data_type": "text", "length": 40}]})
    assert response.status_code == 201, response.text
    record = crm.post("/Accounts", json={"data": [{"Account_Name": "Region Test", "Region": "North"}]})
    return record.json()["data"][0]["details"]["id"]


def _accounts_fields(crm) -> dict:
    return {f["api_name"]: f for f in crm.get("/settings/fields", params={"module": "Accounts"}).json()["fields"]}


def test_a_custom_field_given_another_api_name_keeps_its_values_under_the_new_name(crm, crm_sandbox):
    record_id = _region(crm)
    changed = crm_sandbox.change_field("Accounts", "Region", api_name="Sales_Region")
    assert (changed["api_name"], changed["field_label"]) == ("Sales_Region", "Region")
    fields = _accounts_fields(crm)
    assert "Region" not in fields and fields["Sales_Region"]["data_type"] == "text"
    record = crm.get(f"/Accounts/{record_id}", params={"fields": "Sales_Region"}).json()["data"][0]
    assert record["Sales_Region"] == "North"
    old = crm.get("/Accounts", params={"fields": "Account_Name,Region"})
    assert assert_error(old, 400, "INVALID_DATA")["details"]["param_name"] == "fields"


def test_a_custom_field_changes_type_or_is_deleted_with_its_values(crm, crm_sandbox):
    record_id = _region(crm)
    assert crm_sandbox.change_field("Accounts", "Region", data_type="textarea")["data_type"] == "textarea"
    assert _accounts_fields(crm)["Region"]["data_type"] == "textarea"
    crm_sandbox.delete_field("Accounts", "Region")
    assert "Region" not in _accounts_fields(crm)
    record = crm.get(f"/Accounts/{record_id}", params={"fields": "Account_Name"}).json()["data"][0]
    assert "Region" not in record


def test_standard_fields_cannot_be_renamed_retyped_or_deleted_and_bad_changes_are_refused(crm, crm_sandbox):
    _region(crm)
    base = f"{crm_sandbox.base_url}/__sandbox__/fields/Accounts"
    for method, path, body in [("PATCH", "Account_Name", {"api_name": "Name"}), ("DELETE", "Account_Name", None),
                               ("PATCH", "Region", {"data_type": "spaceship"}),
                               ("PATCH", "Region", {"api_name": "1 bad name"}), ("DELETE", "Nope", None)]:
        response = requests.request(method, f"{base}/{path}", json=body, timeout=5)
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["code"] == "INVALID_DATA"
    assert "Region" in _accounts_fields(crm) and "Account_Name" in _accounts_fields(crm)
