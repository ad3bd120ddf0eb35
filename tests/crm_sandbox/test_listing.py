import re
from datetime import datetime, timedelta

from .conftest import assert_error

ZOHO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def test_listing_without_fields_is_refused_in_v8(crm):
    body = assert_error(crm.get("/Accounts"), 400, "REQUIRED_PARAM_MISSING")
    assert body["details"] == {"param_name": "fields"}


def test_listing_returns_only_the_requested_fields_plus_id(crm):
    body = crm.get("/Accounts", params={"fields": "Account_Name,Phone", "per_page": 3}).json()
    assert [set(record) for record in body["data"]] == [{"Account_Name", "Phone", "id"}] * 3
    assert body["info"]["count"] == 3 and body["info"]["per_page"] == 3


def test_more_than_fifty_fields_is_a_limit_error(crm):
    names = ",".join(f"Field_{n}" for n in range(51))
    assert_error(crm.get("/Accounts", params={"fields": names}), 400, "LIMIT_EXCEEDED")


def test_unknown_field_in_fields_is_invalid_data(crm):
    body = assert_error(crm.get("/Accounts", params={"fields": "Account_Name,Nope"}), 400, "INVALID_DATA")
    assert body["details"]["api_name"] == "Nope"


def test_per_page_above_200_is_refused(crm):
    assert_error(crm.get("/Accounts", params={"fields": "id", "per_page": 201}), 400, "INVALID_DATA")


def test_page_paging_sees_every_record_exactly_once(crm):
    seen, page = [], 1
    while True:
        body = crm.get("/Accounts", params={"fields": "Account_Name", "per_page": 20, "page": page}).json()
        seen += [record["id"] for record in body["data"]]
        assert body["info"]["page"] == page
        if not body["info"]["more_records"]:
            break
        page += 1
    assert page == 3
    assert len(seen) == len(set(seen)) == 50


def test_page_token_paging_sees_every_record_exactly_once(crm):
    seen, tokens = [], set()
    params = {"fields": "Full_Name", "per_page": 40}
    while True:
        response = crm.get("/Contacts", params=params)
        assert response.status_code == 200
        info = response.json()["info"]
        seen += [record["id"] for record in response.json()["data"]]
        if not info["more_records"]:
            assert info["next_page_token"] is None
            break
        assert re.fullmatch(r"[0-9a-f]{32,}", info["next_page_token"])
        assert ZOHO_TIME.match(info["page_token_expiry"])
        tokens.add(info["next_page_token"])
        params = {**params, "page_token": info["next_page_token"]}
    assert len(tokens) == 3
    assert len(seen) == len(set(seen)) == 150


def test_page_token_paging_by_modified_time_survives_shared_seconds(crm):
    params = {"fields": "Modified_Time", "per_page": 7, "sort_by": "Modified_Time", "sort_order": "asc"}
    records = []
    while True:
        body = crm.get("/Contacts", params=params).json()
        records += body["data"]
        if not body["info"]["more_records"]:
            break
        params["page_token"] = body["info"]["next_page_token"]
    times = [datetime.fromisoformat(record["Modified_Time"]) for record in records]
    assert times == sorted(times)
    assert len(set(times)) < len(times), "the seed should have many records sharing a second"
    assert len({record["id"] for record in records}) == 150


def test_page_paging_stops_at_the_discrete_ceiling(crm):
    crm.sandbox.config(discrete_ceiling=30)
    page_two = crm.get("/Accounts", params={"fields": "id", "per_page": 20, "page": 2}).json()
    assert page_two["info"]["count"] == 10
    assert page_two["info"]["more_records"] is True
    body = assert_error(crm.get("/Accounts", params={"fields": "id", "per_page": 20, "page": 3}), 400,
                        "DISCRETE_PAGINATION_LIMIT_EXCEEDED")
    assert body["details"]["limit"] == 30


def test_page_token_continues_past_the_discrete_ceiling(crm):
    crm.sandbox.config(discrete_ceiling=20)
    first = crm.get("/Accounts", params={"fields": "id", "per_page": 20, "page": 1}).json()
    second = crm.get("/Accounts", params={"fields": "id", "per_page": 20,
                                          "page_token": first["info"]["next_page_token"]}).json()
    assert second["info"]["count"] == 20
    assert not {r["id"] for r in first["data"]} & {r["id"] for r in second["data"]}


def test_page_token_chain_stops_at_its_ceiling(crm):
    crm.sandbox.config(page_token_ceiling=45)
    params = {"fields": "id", "per_page": 20}
    counts = []
    for _ in range(3):
        body = crm.get("/Contacts", params=params).json()
        counts.append(body["info"]["count"])
        params["page_token"] = body["info"]["next_page_token"]
    assert counts == [20, 20, 5]
    assert body["info"]["more_records"] is True
    assert_error(crm.get("/Contacts", params=params), 400, "PAGINATION_LIMIT_EXCEEDED")


def test_page_token_is_bound_to_its_parameters(crm):
    body = crm.get("/Accounts", params={"fields": "id", "per_page": 10}).json()
    token = body["info"]["next_page_token"]
    changed = crm.get("/Accounts", params={"fields": "id", "per_page": 10, "sort_order": "asc", "page_token": token})
    assert_error(changed, 400, "TOKEN_BOUND_DATA_MISMATCH")


def test_page_and_page_token_together_are_ambiguous(crm):
    token = crm.get("/Accounts", params={"fields": "id", "per_page": 10}).json()["info"]["next_page_token"]
    response = crm.get("/Accounts", params={"fields": "id", "per_page": 10, "page": 2, "page_token": token})
    assert_error(response, 400, "AMBIGUITY_DURING_PROCESSING")


def test_unknown_page_token_is_invalid(crm):
    assert_error(crm.get("/Accounts", params={"fields": "id", "page_token": "abc123"}), 400, "INVALID_DATA")


def test_sorting_by_created_time_descending(crm):
    body = crm.get("/Accounts", params={"fields": "Created_Time", "sort_by": "Created_Time"}).json()
    times = [datetime.fromisoformat(record["Created_Time"]) for record in body["data"]]
    assert times == sorted(times, reverse=True)
    assert body["info"]["sort_by"] == "Created_Time" and body["info"]["sort_order"] == "desc"


def test_default_sort_is_id_descending(crm):
    ids = [int(record["id"]) for record in crm.get("/Vendors", params={"fields": "id"}).json()["data"]]
    assert ids == sorted(ids, reverse=True)


def test_sort_by_another_field_is_refused(crm):
    assert_error(crm.get("/Accounts", params={"fields": "id", "sort_by": "Account_Name"}), 400, "INVALID_DATA")


def _view_id(crm, module: str, name: str) -> str:
    views = crm.get("/settings/custom_views", params={"module": module}).json()["custom_views"]
    return next(view["id"] for view in views if view["name"] == name)


def test_cvid_returns_only_the_views_records(crm):
    cvid = _view_id(crm, "Accounts", "Technology Accounts")
    body = crm.get("/Accounts", params={"fields": "Industry", "cvid": cvid}).json()
    assert body["data"] and {record["Industry"] for record in body["data"]} == {"Technology"}
    everything = crm.get("/Accounts", params={"fields": "Industry"}).json()["data"]
    assert len(body["data"]) == sum(1 for record in everything if record["Industry"] == "Technology")


def test_cvid_with_an_and_group(crm):
    cvid = _view_id(crm, "Accounts", "US Retail Accounts")
    everything = crm.get("/Accounts", params={"fields": "Industry,Billing_Country"}).json()["data"]
    expected = {r["id"] for r in everything if r["Industry"] == "Retail" and r["Billing_Country"] == "United States"}
    response = crm.get("/Accounts", params={"fields": "Industry", "cvid": cvid})
    found = {r["id"] for r in response.json()["data"]} if response.status_code == 200 else set()
    assert found == expected


def test_cvid_with_sort_by_is_ambiguous(crm):
    cvid = _view_id(crm, "Accounts", "All Accounts")
    response = crm.get("/Accounts", params={"fields": "id", "cvid": cvid, "sort_by": "id"})
    assert_error(response, 400, "AMBIGUITY_DURING_PROCESSING")


def test_if_modified_since_returns_only_records_modified_strictly_after(crm):
    records = crm.get("/Accounts", params={"fields": "Modified_Time", "sort_by": "Modified_Time",
                                           "sort_order": "asc"}).json()["data"]
    middle = records[len(records) // 2]["Modified_Time"]
    response = crm.get("/Accounts", params={"fields": "Modified_Time"}, headers={"If-Modified-Since": middle})
    returned = response.json()["data"]
    cutoff = datetime.fromisoformat(middle)
    assert {r["id"] for r in returned} == {r["id"] for r in records if datetime.fromisoformat(r["Modified_Time"]) > cutoff}


def test_if_modified_since_with_nothing_newer_is_304_without_body(crm):
    future = (datetime.now().astimezone() + timedelta(days=1)).isoformat(timespec="seconds")
    response = crm.get("/Accounts", params={"fields": "id"}, headers={"If-Modified-Since": future})
    assert response.status_code == 304
    assert response.content == b""


def test_if_modified_since_in_utc_matches_the_org_offset(crm):
    record = crm.get("/Accounts", params={"fields": "Modified_Time", "per_page": 1}).json()["data"][0]
    moment = datetime.fromisoformat(record["Modified_Time"]) - timedelta(seconds=1)
    utc = moment.astimezone(datetime.now().astimezone().tzinfo.utc).isoformat()
    response = crm.get("/Accounts", params={"fields": "id", "ids": record["id"]}, headers={"If-Modified-Since": utc})
    assert [r["id"] for r in response.json()["data"]] == [record["id"]]


def test_empty_module_is_204(crm):
    ids = crm.all_ids("Vendors")
    crm.sandbox.bulk("Vendors", delete=ids)
    response = crm.get("/Vendors", params={"fields": "id"})
    assert response.status_code == 204 and response.content == b""


def test_ids_parameter_limits_the_listing(crm):
    ids = crm.all_ids("Products")[:3]
    body = crm.get("/Products", params={"fields": "Product_Name", "ids": ",".join(ids)}).json()
    assert sorted(record["id"] for record in body["data"]) == sorted(ids)


def test_lookups_owner_and_times_have_zoho_shapes(crm):
    fields = "Account_Name,Owner,Created_By,Modified_Time,Created_Time"
    records = crm.get("/Contacts", params={"fields": fields}).json()["data"]
    linked = [record for record in records if record["Account_Name"]]
    orphans = [record for record in records if record["Account_Name"] is None]
    assert linked and orphans, "the demo seed has contacts with and without an account"
    assert set(linked[0]["Account_Name"]) == {"name", "id"}
    account = crm.get(f"/Accounts/{linked[0]['Account_Name']['id']}").json()["data"][0]
    assert account["Account_Name"] == linked[0]["Account_Name"]["name"]
    assert set(records[0]["Owner"]) == {"name", "id", "email"}
    assert "@" in records[0]["Owner"]["email"]
    assert ZOHO_TIME.match(records[0]["Modified_Time"]) and records[0]["Modified_Time"].endswith("-05:00")


def test_times_follow_the_configured_utc_offset(crm):
    before = crm.get("/Accounts", params={"fields": "Modified_Time", "per_page": 1}).json()["data"][0]
    crm.sandbox.config(utc_offset="+05:30")
    after = crm.get("/Accounts", params={"fields": "Modified_Time", "per_page": 1}).json()["data"][0]
    assert after["Modified_Time"].endswith("+05:30")
    assert datetime.fromisoformat(after["Modified_Time"]) == datetime.fromisoformat(before["Modified_Time"])


def test_get_one_record_returns_all_fields(crm):
    record_id = crm.all_ids("Products")[0]
    response = crm.get(f"/Products/{record_id}")
    assert response.status_code == 200
    body = response.json()
    assert "info" not in body
    record = body["data"][0]
    assert record["id"] == record_id
    assert {"Product_Name", "Product_Code", "Product_Type", "Vendor_Name", "Owner", "Layout"} <= set(record)


def test_get_one_record_with_fields(crm):
    record_id = crm.all_ids("Products")[0]
    record = crm.get(f"/Products/{record_id}", params={"fields": "Product_Name"}).json()["data"][0]
    assert set(record) == {"Product_Name", "id"}


def test_get_unknown_record_is_invalid_data(crm):
    assert_error(crm.get("/Accounts/5843104009999999999"), 400, "INVALID_DATA")
    assert_error(crm.get("/Accounts/not-a-number"), 400, "INVALID_DATA")


def test_v2_returns_all_fields_without_fields_param(crm_v2):
    body = crm_v2.get("/Accounts", params={"per_page": 5}).json()
    assert {"Account_Name", "Industry", "Owner", "Modified_Time"} <= set(body["data"][0])
    assert "next_page_token" not in body["info"]


def test_v2_pages_by_number_beyond_the_v8_discrete_ceiling(crm_v2):
    crm_v2.sandbox.config(discrete_ceiling=20)
    body = crm_v2.get("/Contacts", params={"per_page": 20, "page": 3}).json()
    assert body["info"]["count"] == 20 and body["info"]["page"] == 3


def test_v2_ignores_page_token(crm_v2):
    first = crm_v2.get("/Accounts", params={"per_page": 10}).json()
    again = crm_v2.get("/Accounts", params={"per_page": 10, "page_token": "whatever"}).json()
    assert [r["id"] for r in first["data"]] == [r["id"] for r in again["data"]]


def test_v2_writes_and_reads_records(crm_v2):
    response = crm_v2.post("/Vendors", json={"data": [{"Vendor_Name": "V2 Supplies"}]})
    assert response.status_code == 201
    new_id = response.json()["data"][0]["details"]["id"]
    assert crm_v2.get(f"/Vendors/{new_id}").json()["data"][0]["Vendor_Name"] == "V2 Supplies"
