"""Bulk Read: jobs (`POST /crm/bulk/v8/read`), their status, the zipped CSV they produce, callbacks, limits."""

import csv
import io
import time
import zipfile
from datetime import datetime

import pytest

from crm_sandbox import bulk
from crm_sandbox.app import Sandbox
from crm_sandbox.process import free_port

from .conftest import assert_error

ACCOUNT_FIELDS = "Account_Name,Industry,Billing_Country,Employees,Annual_Revenue,Parent_Account,Owner,Modified_Time"


@pytest.fixture(autouse=True)
def quick_jobs(crm):
    """Jobs complete as soon as they are exported, unless a test asks for slower ones."""
    crm.sandbox.config(bulk_job_ms=0)


def create(crm, query: dict, **body) -> str:
    response = crm.bulk_read("POST", json={"query": query, **body})
    assert response.status_code == 201, response.text
    return response.json()["data"][0]["details"]["id"]


def status(crm, job_id: str) -> dict:
    response = crm.bulk_read("GET", f"/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"][0]


def wait(crm, job_id: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := status(crm, job_id))["state"] not in ("COMPLETED", "FAILURE"):
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
    return job


def download(crm, job_id: str) -> list[dict]:
    """The result's CSV rows as dicts (header row first checked by the callers through `header`)."""
    return list(csv.DictReader(io.StringIO(csv_text(crm, job_id))))


def csv_text(crm, job_id: str) -> str:
    response = crm.bulk_read("GET", f"/{job_id}/result")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == [f"{job_id}.csv"]
        return archive.read(f"{job_id}.csv").decode("utf-8")


def export(crm, query: dict, **body) -> list[dict]:
    job_id = create(crm, query, **body)
    assert wait(crm, job_id)["state"] == "COMPLETED"
    return download(crm, job_id)


def accounts(crm) -> list[dict]:
    return crm.get("/Accounts", params={"fields": ACCOUNT_FIELDS, "sort_by": "id", "sort_order": "asc"}).json()["data"]


def ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- the job's life ---------------------------------------------------------------------------------------

def test_creating_a_job_answers_201_added_and_it_completes_with_a_result(crm):
    response = crm.bulk_read("POST", json={"query": {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"]},
                                           "file_type": "csv"})
    assert response.status_code == 201
    body = response.json()
    assert body["info"] == {}
    [item] = body["data"]
    assert (item["status"], item["code"], item["message"]) == ("success", "ADDED_SUCCESSFULLY", "Added successfully.")
    details = item["details"]
    assert details["operation"] == "read" and details["state"] == "ADDED"
    assert details["created_by"] == {"id": crm.get("/users", params={"type": "CurrentUser"}).json()["users"][0]["id"],
                                     "name": "Ana Ruiz"}
    assert instant(details["created_time"]).utcoffset().total_seconds() == -5 * 3600
    job = wait(crm, details["id"])
    assert job["state"] == "COMPLETED"
    assert job["id"] == details["id"] and job["file_type"] == "csv" and job["operation"] == "read"
    assert job["query"] == {"module": {"api_name": "Accounts", "id": job["query"]["module"]["id"]},
                            "fields": ["Account_Name"], "page": 1}
    assert job["result"] == {"page": 1, "per_page": bulk.PER_PAGE, "count": 50, "more_records": False,
                             "next_page_token": None, "download_url": f"/crm/bulk/v8/read/{details['id']}/result"}
    result = crm.request("GET", crm.sandbox.base_url + job["result"]["download_url"])
    assert result.status_code == 200
    assert result.headers["Content-Disposition"] == f'attachment; filename="{details["id"]}.zip"'
    assert int(result.headers["Content-Length"]) == len(result.content)


def test_bulk_job_ms_holds_the_job_back_and_its_result_is_not_found_until_then(crm):
    crm.sandbox.config(bulk_job_ms=1500)
    job_id = create(crm, {"module": {"api_name": "Vendors"}})
    assert status(crm, job_id)["state"] in ("ADDED", "QUEUED", "IN PROGRESS")
    assert status(crm, job_id)["result"] is None
    body = assert_error(crm.bulk_read("GET", f"/{job_id}/result"), 404, "RESOURCE_NOT_FOUND")
    assert body["details"]["resource"] == "result" and body["details"]["state"] != "COMPLETED"
    started = time.monotonic()
    assert wait(crm, job_id)["state"] == "COMPLETED"
    assert time.monotonic() - started > 0.5


def test_the_file_holds_the_records_as_they_were_when_the_job_ran(crm):
    crm.sandbox.config(bulk_job_ms=1200)
    first = accounts(crm)[0]
    job_id = create(crm, {"module": {"api_name": "Accounts"}, "fields": ["Phone"]})
    deadline = time.monotonic() + 5
    while status(crm, job_id)["state"] != "IN PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the export of 50 records is done long before the job ends
    crm.sandbox.edit_record("Accounts", first["id"], {"Phone": "+1 555 0199"})
    assert wait(crm, job_id)["state"] == "COMPLETED"
    row = next(row for row in download(crm, job_id) if row["id"] == first["id"])
    assert row["Phone"] != "+1 555 0199"
    assert [row["Phone"] for row in export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Phone"],
                                                 "criteria": _equal("id", first["id"])})] == ["+1 555 0199"]


def test_a_fail_rate_of_one_ends_every_job_in_failure_without_a_result(crm):
    crm.sandbox.config(bulk_fail_rate=1)
    job_id = create(crm, {"module": {"api_name": "Accounts"}})
    job = wait(crm, job_id)
    assert job["state"] == "FAILURE" and job["result"] is None
    body = assert_error(crm.bulk_read("GET", f"/{job_id}/result"), 404, "RESOURCE_NOT_FOUND")
    assert body["details"]["state"] == "FAILURE"


def test_an_unknown_job_is_404_resource_not_found(crm):
    assert_error(crm.bulk_read("GET", "/5843104009999999999"), 404, "RESOURCE_NOT_FOUND")
    assert_error(crm.bulk_read("GET", "/5843104009999999999/result"), 404, "RESOURCE_NOT_FOUND")
    assert_error(crm.bulk_read("GET", "/not-a-job"), 404, "RESOURCE_NOT_FOUND")


def test_a_reset_forgets_the_jobs(crm):
    job_id = create(crm, {"module": {"api_name": "Vendors"}})
    wait(crm, job_id)
    crm.sandbox.reset()
    assert_error(crm.bulk_read("GET", f"/{job_id}"), 404, "RESOURCE_NOT_FOUND")


def test_older_api_versions_have_bulk_read_too(crm):
    response = crm.request("POST", f"{crm.sandbox.base_url}/crm/bulk/v2/read",
                           json={"query": {"module": {"api_name": "Vendors"}}})
    assert response.status_code == 201
    job_id = response.json()["data"][0]["details"]["id"]
    assert wait(crm, job_id)["result"]["download_url"] == f"/crm/bulk/v2/read/{job_id}/result"


def test_other_methods_on_the_job_paths_are_405(crm):
    assert_error(crm.bulk_read("GET"), 405, "INVALID_REQUEST_METHOD")
    assert_error(crm.bulk_read("DELETE", "/1"), 405, "INVALID_REQUEST_METHOD")


# --- the CSV ----------------------------------------------------------------------------------------------

def test_accounts_csv_has_id_first_then_the_fields_asked_for_with_values_as_the_api_shows_them(crm):
    text = csv_text(crm, _completed(crm, {"module": {"api_name": "Accounts"}, "fields": ACCOUNT_FIELDS.split(",")}))
    assert text.splitlines()[0] == "id," + ACCOUNT_FIELDS
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = accounts(crm)
    assert ids(rows) == ids(expected)
    for row, record in zip(rows, expected, strict=True):
        assert row["Account_Name"] == record["Account_Name"]
        assert row["Industry"] == (record["Industry"] or "")
        assert row["Employees"] == str(record["Employees"])
        assert float(row["Annual_Revenue"]) == record["Annual_Revenue"] and "e" not in row["Annual_Revenue"]
        assert row["Parent_Account"] == (record["Parent_Account"]["id"] if record["Parent_Account"] else "")
        assert row["Owner"] == record["Owner"]["id"]
        assert row["Modified_Time"] == record["Modified_Time"]
        assert row["Modified_Time"].endswith("-05:00")
    assert any(row["Parent_Account"] for row in rows)


def test_contacts_csv_shows_the_account_as_its_id_booleans_as_true_false_and_empty_as_empty(crm):
    contacts = crm.get("/Contacts", params={"fields": "Account_Name,Email_Opt_Out,Created_Time,Salutation"}).json()["data"]
    crm.sandbox.edit_record("Contacts", contacts[0]["id"], {"Email_Opt_Out": True})
    rows = {row["id"]: row for row in export(crm, {"module": {"api_name": "Contacts"}, "fields": [
        "Last_Name", "Account_Name", "Email_Opt_Out", "Owner", "Created_By", "Created_Time", "Salutation"]})}
    assert len(rows) == 150
    assert rows[contacts[0]["id"]]["Email_Opt_Out"] == "true"
    assert {row["Email_Opt_Out"] for row in rows.values()} == {"true", "false"}
    for contact in contacts:
        row = rows[contact["id"]]
        assert row["Account_Name"] == (contact["Account_Name"]["id"] if contact["Account_Name"] else "")
        assert row["Salutation"] == (contact["Salutation"] or "")
        assert row["Created_Time"] == contact["Created_Time"]
    assert any(row["Account_Name"] == "" for row in rows.values())
    assert {row["Created_By"] for row in rows.values()} == {rows[contacts[0]["id"]]["Created_By"]}


def test_without_fields_every_field_of_the_module_is_a_column(crm):
    header = csv_text(crm, _completed(crm, {"module": {"api_name": "Vendors"}})).splitlines()[0].split(",")
    metadata = [field["api_name"] for field in crm.get("/settings/fields", params={"module": "Vendors"}).json()["fields"]]
    assert header == ["id", *metadata]


def test_dates_decimals_user_fields_and_multi_select_values(crm):
    created = crm.post("/settings/fields", params={"module": "Products"}, json={"fields": [
        {"field_label": "Regions", "data_type": "multiselectpicklist",
         "pick_list_values": [{"display_value": "EU"}, {"display_value": "US"}, {"display_value": "APAC"}]},
        {"field_label": "Audited At", "data_type": "datetime"}]})
    assert created.status_code == 201, created.text
    users = crm.get("/users").json()["users"]
    product = crm.sandbox.create_record("Products", {
        "Product_Name": "Bulk Export Kit", "Unit_Price": 12.5, "Sales_Start_Date": "2025-02-28",
        "Handler": {"id": users[1]["id"]}, "Regions": ["EU", "APAC"], "Audited_At": "2025-03-01T10:00:00+01:00",
        "Qty_in_Stock": 0.00001, "Product_Active": False})
    [row] = export(crm, {"module": {"api_name": "Products"}, "fields": [
        "Product_Name", "Unit_Price", "Sales_Start_Date", "Handler", "Regions", "Audited_At", "Qty_in_Stock",
        "Product_Active", "Description"], "criteria": _equal("id", product["id"])})
    assert row == {"id": product["id"], "Product_Name": "Bulk Export Kit", "Unit_Price": "12.5",
                   "Sales_Start_Date": "2025-02-28", "Handler": users[1]["id"], "Regions": "EU;APAC",
                   "Audited_At": "2025-03-01T04:00:00-05:00", "Qty_in_Stock": "0.00001", "Product_Active": "false",
                   "Description": ""}


def test_values_with_commas_quotes_and_line_breaks_are_quoted_as_csv(crm):
    account = crm.sandbox.create_record("Accounts", {"Account_Name": 'Comma, "Quote" Ltd',
                                                     "Description": "two\nlines"})
    [row] = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name", "Description"],
                         "criteria": _equal("id", account["id"])})
    assert (row["Account_Name"], row["Description"]) == ('Comma, "Quote" Ltd', "two\nlines")


def test_a_page_beyond_the_last_is_a_header_without_rows(crm):
    job_id = _completed(crm, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"], "page": 2})
    assert status(crm, job_id)["result"] | {"download_url": None} == {
        "page": 2, "per_page": 200000, "count": 0, "more_records": False, "next_page_token": None, "download_url": None}
    assert csv_text(crm, job_id).splitlines() == ["id,Account_Name"]


def test_a_page_holds_per_page_records_and_says_when_more_follow(tmp_path):
    # 200,000 records per page is too many for a test: the same code with a page of 20, in-process.
    sandbox = Sandbox(str(tmp_path / "crm.sqlite3"), config={"bulk_job_ms": 0, "bulk_per_page": 20})
    try:
        seen = []
        for page in (1, 2, 3):
            job_id = sandbox.bulk_reads.create({"query": {"module": {"api_name": "Accounts"}, "page": page}}, 8)["id"]
            deadline = time.monotonic() + 10
            while (job := sandbox.bulk_reads.details(job_id))["state"] != "COMPLETED":
                assert time.monotonic() < deadline, job
                time.sleep(0.02)
            with sandbox.bulk_reads.open_result(job_id) as file, zipfile.ZipFile(file) as archive:
                rows = list(csv.DictReader(io.TextIOWrapper(archive.open(f"{job_id}.csv"), encoding="utf-8")))
            assert (job["result"]["count"], job["result"]["more_records"]) == (len(rows), page < 3)
            seen += ids(rows)
        assert len(seen) == len(set(seen)) == 50 and seen == sorted(seen)
    finally:
        sandbox.store.close()


# --- which records ----------------------------------------------------------------------------------------

def _equal(name: str, value) -> dict:
    return {"field": {"api_name": name}, "comparator": "equal", "value": value}


def _completed(crm, query: dict) -> str:
    job_id = create(crm, query)
    assert wait(crm, job_id)["state"] == "COMPLETED"
    return job_id


def test_modified_time_greater_equal_an_instant_in_any_offset_is_exact(crm):
    records = accounts(crm)
    pivot = sorted(instant(record["Modified_Time"]) for record in records)[len(records) // 2]
    for offset, comparator, keep in (("+05:30", "greater_equal", lambda at: at >= pivot),
                                     ("+00:00", "greater_than", lambda at: at > pivot),
                                     ("-08:00", "less_than", lambda at: at < pivot)):
        value = pivot.astimezone(datetime.strptime(offset, "%z").tzinfo).isoformat()
        rows = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Modified_Time"], "criteria": {
            "group_operator": "and", "group": [
                {"field": {"api_name": "Modified_Time"}, "comparator": comparator, "value": value}]}})
        expected = [record["id"] for record in records if keep(instant(record["Modified_Time"]))]
        assert ids(rows) == expected and expected, (comparator, value)


def test_modified_time_between_includes_both_ends(crm):
    records = accounts(crm)
    times = sorted({instant(record["Modified_Time"]) for record in records})
    low, high = times[3], times[-4]
    rows = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Modified_Time"], "criteria": {
        "field": {"api_name": "Modified_Time"}, "comparator": "between",
        "value": [low.astimezone(datetime.strptime("+02:00", "%z").tzinfo).isoformat(), high.isoformat()]}})
    assert ids(rows) == [r["id"] for r in records if low <= instant(r["Modified_Time"]) <= high]
    outside = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Modified_Time"], "criteria": {
        "field": {"api_name": "Modified_Time"}, "comparator": "not_between", "value": [low.isoformat(), high.isoformat()]}})
    assert sorted(ids(rows) + ids(outside)) == sorted(ids(records))


def test_text_criteria_nest_in_and_and_or_groups(crm):
    records = accounts(crm)
    criteria = {"group_operator": "or", "group": [
        _equal("Industry", "retail"),
        {"group_operator": "and", "group": [
            _equal("Billing_Country", "Germany"),
            {"field": {"api_name": "Account_Name"}, "comparator": "starts_with", "value": "N"}]}]}
    rows = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"], "criteria": criteria})
    expected = [r["id"] for r in records if r["Industry"] == "Retail"
                or (r["Billing_Country"] == "Germany" and r["Account_Name"].startswith("N"))]
    assert ids(rows) == expected and expected


@pytest.mark.parametrize(("comparator", "value", "keep"), [
    ("not_equal", "Retail", lambda r: r["Industry"] != "Retail"),
    ("in", ["Retail", "Finance"], lambda r: r["Industry"] in ("Retail", "Finance")),
    ("not_in", ["Retail", "Finance"], lambda r: r["Industry"] not in ("Retail", "Finance")),
    ("contains", "ech", lambda r: "ech" in (r["Industry"] or "")),
    ("not_contains", "ech", lambda r: "ech" not in (r["Industry"] or "")),
    ("ends_with", "ing", lambda r: (r["Industry"] or "").endswith("ing")),
])
def test_text_comparators(crm, comparator, value, keep):
    rows = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Industry"], "criteria": {
        "field": {"api_name": "Industry"}, "comparator": comparator, "value": value}})
    expected = [r["id"] for r in accounts(crm) if keep(r)]
    assert ids(rows) == expected and expected


@pytest.mark.parametrize(("comparator", "value", "keep"), [
    ("greater_equal", 450, lambda n: n >= 450),
    ("less_than", "120", lambda n: n < 120),
    ("between", [40, 450], lambda n: 40 <= n <= 450),
    ("in", [5, 5000], lambda n: n in (5, 5000)),
])
def test_number_comparators(crm, comparator, value, keep):
    rows = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Employees"], "criteria": {
        "field": {"api_name": "Employees"}, "comparator": comparator, "value": value}})
    expected = [r["id"] for r in accounts(crm) if keep(r["Employees"])]
    assert ids(rows) == expected and expected


def test_a_lookup_matches_the_target_id(crm):
    contacts = crm.get("/Contacts", params={"fields": "Account_Name"}).json()["data"]
    account_id = next(c["Account_Name"]["id"] for c in contacts if c["Account_Name"])
    rows = export(crm, {"module": {"api_name": "Contacts"}, "fields": ["Account_Name"],
                        "criteria": _equal("Account_Name", account_id)})
    assert sorted(ids(rows)) == sorted(c["id"] for c in contacts if (c["Account_Name"] or {}).get("id") == account_id)
    assert {row["Account_Name"] for row in rows} == {account_id}


def test_cvid_filters_by_the_view_alone_or_with_criteria(crm):
    views = crm.get("/settings/custom_views", params={"module": "Accounts"}).json()["custom_views"]
    technology = next(view["id"] for view in views if view["name"] == "Technology Accounts")
    listed = crm.get("/Accounts", params={"fields": "Employees", "cvid": technology}).json()["data"]
    rows = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Industry"], "cvid": technology})
    assert sorted(ids(rows)) == sorted(record["id"] for record in listed) and rows
    assert {row["Industry"] for row in rows} == {"Technology"}
    big = export(crm, {"module": {"api_name": "Accounts"}, "fields": ["Industry"], "cvid": technology, "criteria": {
        "field": {"api_name": "Employees"}, "comparator": "greater_equal", "value": 120}})
    assert sorted(ids(big)) == sorted(r["id"] for r in listed if r["Employees"] >= 120)
    assert len(big) < len(rows)


# --- bad requests -----------------------------------------------------------------------------------------

def _condition(name: str, comparator: str, value) -> dict:
    return {"field": {"api_name": name}, "comparator": comparator, "value": value}


@pytest.mark.parametrize(("body", "code", "key"), [
    ({}, "MANDATORY_NOT_FOUND", "query"),
    ({"query": {"fields": ["Phone"]}}, "MANDATORY_NOT_FOUND", "module"),
    ({"query": {"module": {"api_name": "Leads"}}}, "INVALID_MODULE", "module"),
    ({"query": {"module": {"api_name": "Accounts"}, "fields": "Phone"}}, "INVALID_DATA", "fields"),
    ({"query": {"module": {"api_name": "Accounts"}, "page": 0}}, "INVALID_DATA", "page"),
    ({"query": {"module": {"api_name": "Accounts"}, "cvid": "123"}}, "INVALID_DATA", "cvid"),
    ({"query": {"module": {"api_name": "Accounts"}}, "file_type": "ics"}, "INVALID_DATA", "file_type"),
    ({"query": {"module": {"api_name": "Accounts"}}, "callback": {"url": "https://erp.test/done"}},
     "MANDATORY_NOT_FOUND", "method"),
    ({"query": {"module": {"api_name": "Accounts"}}, "callback": {"url": "ftp://erp.test", "method": "post"}},
     "INVALID_DATA", "url"),
    ({"query": {"module": {"api_name": "Accounts"}, "criteria": _condition("Bogus", "equal", "x")}},
     "INVALID_DATA", "field"),
    ({"query": {"module": {"api_name": "Accounts"}, "criteria": _condition("Industry", "like", "x")}},
     "INVALID_DATA", "comparator"),
    ({"query": {"module": {"api_name": "Accounts"}, "criteria": _condition("Employees", "ends_with", "0")}},
     "INVALID_DATA", "comparator"),
    ({"query": {"module": {"api_name": "Accounts"}, "criteria": _condition("Modified_Time", "greater_than",
                                                                              "2025-01-01T00:00:00")}},
     "INVALID_DATA", "value"),
    ({"query": {"module": {"api_name": "Accounts"}, "criteria": _condition("Modified_Time", "between",
                                                                              ["2025-01-01T00:00:00Z"])}},
     "INVALID_DATA", "value"),
    ({"query": {"module": {"api_name": "Accounts"}, "criteria": _condition("Employees", "equal", "many")}},
     "INVALID_DATA", "value"),
    ({"query": {"module": {"api_name": "Accounts"}, "criteria": {"group_operator": "xor", "group": []}}},
     "INVALID_DATA", "group_operator"),
    ({"query": {"module": {"api_name": "Accounts"}, "criteria": {"field": {"api_name": "Industry"}}}},
     "MANDATORY_NOT_FOUND", "comparator"),
], ids=["no-query", "no-module", "unknown-module", "fields-not-a-list", "page-0", "unknown-cvid", "ics",
        "callback-without-method", "callback-not-http", "unknown-criteria-field", "unknown-comparator",
        "text-comparator-on-a-number", "date-time-without-offset", "between-one-value", "number-not-a-number",
        "bad-group-operator", "condition-without-comparator"])
def test_a_bad_request_is_400_with_the_key_at_fault(crm, body, code, key):
    error = assert_error(crm.bulk_read("POST", json=body), 400, code)
    assert error["details"]["api_name"] == key
    assert error["details"]["json_path"].startswith("$.")


def test_unknown_fields_are_refused_by_name(crm):
    error = assert_error(crm.bulk_read("POST", json={"query": {"module": {"api_name": "Accounts"},
                                                               "fields": ["Phone", "Shoe_Size", "Hat_Size"]}}),
                         400, "INVALID_DATA")
    assert error["details"] == {"api_name": "Shoe_Size", "json_path": "$.query.fields[1]"}
    assert "Shoe_Size" in error["message"] and "Hat_Size" in error["message"]


def test_a_body_that_is_not_json_is_400(crm):
    assert_error(crm.bulk_read("POST", data=b"query=Accounts"), 400, "INVALID_DATA")


# --- limits, credits, callbacks ---------------------------------------------------------------------------

def test_at_most_ten_downloads_a_minute(crm):
    job_id = _completed(crm, {"module": {"api_name": "Vendors"}, "fields": ["Vendor_Name"]})
    for _ in range(bulk.MAX_DOWNLOADS):
        assert crm.bulk_read("GET", f"/{job_id}/result").status_code == 200
    error = assert_error(crm.bulk_read("GET", f"/{job_id}/result"), 429, "TOO_MANY_REQUESTS")
    assert error["details"] == {}
    assert status(crm, job_id)["state"] == "COMPLETED"  # the status is not a download


def test_a_job_costs_50_credits_and_its_status_and_download_nothing(crm):
    crm.sandbox.config(daily_credits=100)
    first = crm.bulk_read("POST", json={"query": {"module": {"api_name": "Vendors"}}})
    assert first.headers["X-API-CREDITS-REMAINING"] == "50"
    job_id = first.json()["data"][0]["details"]["id"]
    wait(crm, job_id)
    assert crm.bulk_read("GET", f"/{job_id}/result").headers["X-API-CREDITS-REMAINING"] == "50"
    second = crm.bulk_read("POST", json={"query": {"module": {"api_name": "Vendors"}}})
    assert second.status_code == 201 and second.headers["X-API-CREDITS-REMAINING"] == "0"
    assert_error(crm.bulk_read("POST", json={"query": {"module": {"api_name": "Vendors"}}}), 429, "TOO_MANY_REQUESTS")
    assert crm.bulk_read("GET", f"/{job_id}").status_code == 200


def test_the_callback_gets_the_job_details_when_it_completes(crm, receiver):
    job_id = create(crm, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"]},
                    callback={"url": receiver.url, "method": "post"})
    [body] = receiver.wait(1)
    assert body["job_id"] == body["id"] == job_id
    assert body["state"] == "COMPLETED" and body["operation"] == "read"
    assert body["result"]["count"] == 50 and body["result"]["download_url"].endswith(f"/{job_id}/result")
    assert {key: value for key, value in body.items() if key != "job_id"} == status(crm, job_id)
    assert receiver.quiet(0.2) == [body]


def test_the_callback_tells_of_a_failure_too(crm, receiver):
    crm.sandbox.config(bulk_fail_rate=1)
    create(crm, {"module": {"api_name": "Accounts"}}, callback={"url": receiver.url, "method": "post"})
    [body] = receiver.wait(1)
    assert body["state"] == "FAILURE" and body["result"] is None


def test_a_callback_that_cannot_be_delivered_is_logged_and_the_job_completes(crm):
    job_id = create(crm, {"module": {"api_name": "Vendors"}},
                    callback={"url": f"http://127.0.0.1:{free_port()}/gone", "method": "post"})
    assert wait(crm, job_id)["state"] == "COMPLETED"
    deadline = time.monotonic() + 5
    while f"callback of bulk read job {job_id} failed" not in crm.sandbox.log_tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"callback of bulk read job {job_id} failed" in crm.sandbox.log_tail()
    assert crm.bulk_read("GET", f"/{job_id}/result").status_code == 200
