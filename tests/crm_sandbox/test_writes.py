import time
from datetime import datetime

from .conftest import assert_error


def _count(crm, module: str) -> int:
    return crm.get(f"/{module}/actions/count").json()["count"]


def test_insert_returns_201_and_stores_the_record(crm):
    response = crm.post("/Accounts", json={"data": [{"Account_Name": "Fresh Start Ltd", "Employees": 12,
                                                     "Annual_Revenue": 1500.5, "Industry": "Retail"}]})
    assert response.status_code == 201
    result = response.json()["data"][0]
    assert result["code"] == "SUCCESS" and result["message"] == "record added" and result["status"] == "success"
    assert set(result["details"]) == {"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"}
    record = crm.get(f"/Accounts/{result['details']['id']}").json()["data"][0]
    assert (record["Account_Name"], record["Employees"], record["Annual_Revenue"]) == ("Fresh Start Ltd", 12, 1500.5)
    assert record["Owner"]["email"] == "ana.ruiz@zylker.test"
    assert record["Layout"]["name"] == "Standard"


def test_partial_insert_is_207_and_failed_records_write_nothing(crm):
    before = _count(crm, "Accounts")
    response = crm.post("/Accounts", json={"data": [
        {"Account_Name": "Good One Inc."},
        {"Phone": "+1 555 0000"},
        {"Account_Name": "Bad Employees", "Employees": "many"},
        {"Account_Name": "x" * 201},
        {"Account_Name": "Unknown Field Co", "No_Such_Field": 1},
        {"Account_Name": "Bad Pick", "Industry": "Space Travel"},
        "not an object",
    ]})
    assert response.status_code == 207
    results = response.json()["data"]
    assert [result["code"] for result in results] == [
        "SUCCESS", "MANDATORY_NOT_FOUND", "INVALID_DATA", "INVALID_DATA", "INVALID_DATA", "INVALID_DATA",
        "INVALID_DATA"]
    assert results[1]["details"] == {"api_name": "Account_Name", "json_path": "$.data[1].Account_Name"}
    assert results[2]["details"] == {"api_name": "Employees", "json_path": "$.data[2].Employees",
                                     "expected_data_type": "integer"}
    assert results[3]["details"]["maximum_length"] == 200
    assert results[4]["details"]["api_name"] == "No_Such_Field"
    assert results[5]["details"]["expected_data_type"] == "picklist"
    assert _count(crm, "Accounts") == before + 1
    search = crm.get("/Accounts/search", params={"criteria": "(Account_Name:starts_with:Bad)"})
    assert search.status_code == 204


def test_all_records_failing_is_400(crm):
    response = crm.post("/Contacts", json={"data": [{"First_Name": "No"}, {"First_Name": "Last"}]})
    assert response.status_code == 400
    assert {result["code"] for result in response.json()["data"]} == {"MANDATORY_NOT_FOUND"}


def test_more_than_100_records_is_refused_whole(crm):
    before = _count(crm, "Vendors")
    response = crm.post("/Vendors", json={"data": [{"Vendor_Name": f"V {n}"} for n in range(101)]})
    assert_error(response, 400, "LIMIT_EXCEEDED")
    assert _count(crm, "Vendors") == before


def test_malformed_json_is_invalid_data(crm):
    response = crm.post("/Accounts", data=b'{"data": [', headers={"Content-Type": "application/json"})
    assert_error(response, 400, "INVALID_DATA")


def test_body_without_data_is_mandatory_not_found(crm):
    assert_error(crm.post("/Accounts", json={"records": []}), 400, "MANDATORY_NOT_FOUND")
    assert_error(crm.post("/Accounts", json={"data": []}), 400, "MANDATORY_NOT_FOUND")


def test_update_changes_only_sent_fields_and_moves_modified_time(crm):
    record = crm.get("/Accounts", params={"fields": "Account_Name,Phone,Modified_Time", "per_page": 1,
                                          "sort_by": "Modified_Time", "sort_order": "asc"}).json()["data"][0]
    response = crm.put("/Accounts", json={"data": [{"id": record["id"], "Phone": "+1 555 4242"}]})
    assert response.status_code == 200
    assert response.json()["data"][0]["message"] == "record updated"
    after = crm.get(f"/Accounts/{record['id']}").json()["data"][0]
    assert after["Phone"] == "+1 555 4242" and after["Account_Name"] == record["Account_Name"]
    assert datetime.fromisoformat(after["Modified_Time"]) > datetime.fromisoformat(record["Modified_Time"])


def test_update_without_changes_still_moves_modified_time(crm):
    record = crm.get("/Vendors", params={"fields": "Vendor_Name,Modified_Time", "per_page": 1}).json()["data"][0]
    response = crm.put(f"/Vendors/{record['id']}", json={"data": [{"Vendor_Name": record["Vendor_Name"]}]})
    assert response.status_code == 200
    after = crm.get(f"/Vendors/{record['id']}").json()["data"][0]
    assert datetime.fromisoformat(after["Modified_Time"]) > datetime.fromisoformat(record["Modified_Time"])


def test_update_errors_per_record(crm):
    record_id = crm.all_ids("Accounts")[0]
    response = crm.put("/Accounts", json={"data": [
        {"id": record_id, "Website": "www.changed.test"},
        {"Website": "no id"},
        {"id": "5843104009999999999", "Website": "unknown id"},
        {"id": record_id, "Account_Name": None},
    ]})
    assert response.status_code == 207
    codes = [result["code"] for result in response.json()["data"]]
    assert codes == ["SUCCESS", "MANDATORY_NOT_FOUND", "INVALID_DATA", "MANDATORY_NOT_FOUND"]


def test_contact_account_lookup_written_by_id_and_read_with_name(crm):
    account = crm.get("/Accounts", params={"fields": "Account_Name", "per_page": 1}).json()["data"][0]
    response = crm.post("/Contacts", json={"data": [
        {"Last_Name": "Linked", "Account_Name": {"id": account["id"]}},
        {"Last_Name": "Dangling", "Account_Name": {"id": "5843104009999999999"}},
    ]})
    assert response.status_code == 207
    ok, bad = response.json()["data"]
    assert bad["code"] == "INVALID_DATA" and bad["details"]["api_name"] == "Account_Name"
    contact = crm.get(f"/Contacts/{ok['details']['id']}").json()["data"][0]
    assert contact["Account_Name"] == {"name": account["Account_Name"], "id": account["id"]}
    assert contact["Full_Name"] == "Linked"


def test_product_vendor_lookup_and_picklist_custom_field(crm):
    vendor = crm.get("/Vendors", params={"fields": "Vendor_Name", "per_page": 1}).json()["data"][0]
    response = crm.post("/Products", json={"data": [{"Product_Name": "Cable Tester", "Product_Code": "SKU-CT1",
                                                     "Vendor_Name": {"id": vendor["id"]}, "Product_Type": "Goods",
                                                     "Unit_Price": 19.9}]})
    assert response.status_code == 201
    product = crm.get(f"/Products/{response.json()['data'][0]['details']['id']}").json()["data"][0]
    assert product["Vendor_Name"] == {"name": vendor["Vendor_Name"], "id": vendor["id"]}
    assert product["Product_Type"] == "Goods" and product["Unit_Price"] == 19.9


def test_owner_is_writable_by_id_and_checked(crm):
    users = crm.get("/users", params={"type": "ActiveUsers"}).json()["users"]
    other = next(user for user in users if user["email"].startswith("ben"))
    response = crm.post("/Vendors", json={"data": [{"Vendor_Name": "Owned", "Owner": {"id": other["id"]}},
                                                   {"Vendor_Name": "Bad owner", "Owner": {"id": "123"}}]})
    assert response.status_code == 207
    record = crm.get(f"/Vendors/{response.json()['data'][0]['details']['id']}").json()["data"][0]
    assert record["Owner"] == {"name": other["full_name"], "id": other["id"], "email": other["email"]}
    assert record["Created_By"]["email"] == "ana.ruiz@zylker.test"


def test_field_of_another_layout_is_dropped(crm):
    response = crm.post("/Accounts", json={"data": [{"Account_Name": "Standard Layout Co", "Wholesale_Discount": 5}]})
    record = crm.get(f"/Accounts/{response.json()['data'][0]['details']['id']}").json()["data"][0]
    assert record["Wholesale_Discount"] is None
    layouts = crm.get("/settings/layouts", params={"module": "Accounts"}).json()["layouts"]
    wholesale = next(layout for layout in layouts if layout["name"] == "Wholesale")
    response = crm.post("/Accounts", json={"data": [{"Account_Name": "Wholesale Co", "Wholesale_Discount": 5,
                                                     "Layout": {"id": wholesale["id"]}}]})
    record = crm.get(f"/Accounts/{response.json()['data'][0]['details']['id']}").json()["data"][0]
    assert record["Wholesale_Discount"] == 5 and record["Layout"]["name"] == "Wholesale"


def test_upsert_by_system_field_updates_or_inserts(crm):
    account = crm.get("/Accounts", params={"fields": "Account_Name", "per_page": 1}).json()["data"][0]
    response = crm.post("/Accounts/upsert", json={
        "data": [{"Account_Name": account["Account_Name"].upper(), "Phone": "+1 555 7777"},
                 {"Account_Name": "Brand New Upsert LLC"},
                 {"Phone": "000"}],
        "duplicate_check_fields": ["Account_Name"]})
    assert response.status_code == 207
    updated, inserted, failed = response.json()["data"]
    assert (updated["action"], updated["duplicate_field"], updated["details"]["id"]) == (
        "update", "Account_Name", account["id"])
    assert (inserted["action"], inserted["duplicate_field"], inserted["message"]) == ("insert", None, "record added")
    assert failed["code"] == "MANDATORY_NOT_FOUND"
    assert crm.get(f"/Accounts/{account['id']}").json()["data"][0]["Phone"] == "+1 555 7777"


def test_upsert_all_ok_is_200(crm):
    response = crm.post("/Vendors/upsert", json={"data": [{"Vendor_Name": "Only Insert Ltd"}]})
    assert response.status_code == 200
    assert response.json()["data"][0]["action"] == "insert"


def test_upsert_on_a_field_that_is_not_unique_is_refused(crm):
    response = crm.post("/Accounts/upsert", json={"data": [{"Account_Name": "A"}], "duplicate_check_fields": ["Phone"]})
    assert_error(response, 400, "INVALID_DATA")


def _create_erp_id(crm, module: str) -> str:
    response = crm.post("/settings/fields", params={"module": module}, json={"fields": [
        {"field_label": "ERP Id", "data_type": "text", "length": 64, "unique": {"casesensitive": False}}]})
    assert response.status_code == 201, response.text
    result = response.json()["fields"][0]
    assert result["code"] == "SUCCESS" and result["status"] == "success"
    return result["details"]["id"]


def test_custom_unique_field_is_created_listed_and_enforced(crm):
    field_id = _create_erp_id(crm, "Accounts")
    field = crm.get(f"/settings/fields/{field_id}", params={"module": "Accounts"}).json()["fields"][0]
    assert (field["api_name"], field["custom_field"], field["length"], field["unique"]) == (
        "ERP_Id", True, 64, {"casesensitive": "false"})
    first = crm.post("/Accounts", json={"data": [{"Account_Name": "Unique A", "ERP_Id": "erp-1"}]})
    assert first.status_code == 201
    second = crm.post("/Accounts", json={"data": [{"Account_Name": "Unique B", "ERP_Id": "ERP-1"},
                                                  {"Account_Name": "Unique C", "ERP_Id": "erp-2"}]})
    assert second.status_code == 207
    duplicate = second.json()["data"][0]
    assert duplicate["code"] == "DUPLICATE_DATA"
    assert duplicate["details"]["api_name"] == "ERP_Id"
    assert duplicate["details"]["duplicate_record"]["id"] == first.json()["data"][0]["details"]["id"]
    assert duplicate["details"]["duplicate_record"]["module"]["api_name"] == "Accounts"


def test_upsert_by_custom_unique_field_never_creates_a_second_record(crm):
    _create_erp_id(crm, "Contacts")
    payload = {"data": [{"Last_Name": "Pushed", "ERP_Id": "uuid-42", "Email": "pushed@example.test"}],
               "duplicate_check_fields": ["ERP_Id"]}
    first = crm.post("/Contacts/upsert", json=payload).json()["data"][0]
    payload["data"][0]["Last_Name"] = "Pushed Again"
    second = crm.post("/Contacts/upsert", json=payload).json()["data"][0]
    assert (first["action"], second["action"], second["duplicate_field"]) == ("insert", "update", "ERP_Id")
    assert first["details"]["id"] == second["details"]["id"]
    found = crm.get("/Contacts/search", params={"criteria": "(ERP_Id:equals:uuid-42)"}).json()["data"]
    assert [record["Last_Name"] for record in found] == ["Pushed Again"]


def test_custom_field_creation_errors(crm):
    _create_erp_id(crm, "Vendors")
    response = crm.post("/settings/fields", params={"module": "Vendors"}, json={"fields": [
        {"field_label": "ERP Id", "data_type": "text"},
        {"field_label": "Weird", "data_type": "hologram"},
        {"data_type": "text"},
    ]})
    assert response.status_code == 400
    assert [item["code"] for item in response.json()["fields"]] == [
        "DUPLICATE_DATA", "INVALID_DATA", "MANDATORY_NOT_FOUND"]


def test_delete_by_ids_and_by_path_then_listed_as_deleted(crm):
    first, second, third = crm.all_ids("Products")[:3]
    response = crm.delete("/Products", params={"ids": f"{first},{second},5843104009999999999"})
    assert response.status_code == 207
    results = response.json()["data"]
    assert [r["code"] for r in results] == ["SUCCESS", "SUCCESS", "INVALID_DATA"]
    assert results[0] == {"code": "SUCCESS", "details": {"id": first}, "message": "record deleted",
                          "status": "success"}
    assert crm.delete(f"/Products/{third}").status_code == 200
    assert_error(crm.get(f"/Products/{first}"), 400, "INVALID_DATA")
    deleted = crm.get("/Products/deleted").json()
    assert {item["id"] for item in deleted["data"]} == {first, second, third}
    item = deleted["data"][0]
    assert item["type"] == "recycle" and item["deleted_by"]["name"] == "Ana Ruiz" and item["display_name"]


def test_delete_more_than_100_ids_is_refused(crm):
    ids = ",".join(str(5843104001000000001 + n) for n in range(101))
    assert_error(crm.delete("/Accounts", params={"ids": ids}), 400, "LIMIT_EXCEEDED")


def test_deleted_honours_type_and_if_modified_since(crm):
    assert crm.get("/Accounts/deleted").status_code == 204
    first, second = crm.all_ids("Accounts")[:2]
    crm.delete(f"/Accounts/{first}")
    crm.sandbox.delete_record("Accounts", second, permanent=True)
    assert {i["id"] for i in crm.get("/Accounts/deleted", params={"type": "recycle"}).json()["data"]} == {first}
    permanent = crm.get("/Accounts/deleted", params={"type": "permanent"}).json()["data"]
    assert [i["id"] for i in permanent] == [second] and permanent[0]["deleted_by"] is None
    stamp = crm.get("/Accounts/deleted").json()["data"][0]["deleted_time"]
    later = crm.get("/Accounts/deleted", headers={"If-Modified-Since": stamp})
    assert later.status_code == 204
    time.sleep(1.1)
    third = crm.all_ids("Accounts")[0]
    crm.delete(f"/Accounts/{third}")
    assert [i["id"] for i in crm.get("/Accounts/deleted", headers={"If-Modified-Since": stamp}).json()["data"]] == [third]
