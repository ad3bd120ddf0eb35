"""Fidelity: the official Zoho CRM Python SDK (zohocrmsdk8-0) drives the sandbox and parses every answer.

The SDK keeps global state (one Initializer per process), so this module initialises it once against
the session's sandbox, with its token store, field cache and log in a temporary folder.
"""

import csv
import io
import time
import zipfile
from datetime import datetime

import pytest

from .conftest import CrmApi

sdk = pytest.importorskip("zohocrmsdk.src.com.zoho.crm.api.initializer")

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # noqa: E402
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore  # noqa: E402
from zohocrmsdk.src.com.zoho.api.logger import Logger  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap, bulk_read  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.custom_views import (  # noqa: E402
    CustomViewsOperations,
    GetCustomViewParam,
    GetCustomViewsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam, MinifiedField  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.record import (  # noqa: E402
    APIException,
    BodyWrapper,
    DeleteRecordsParam,
    GetDeletedRecordsParam,
    GetRecordsHeader,
    GetRecordsParam,
    Record,
    RecordOperations,
    SearchRecordsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, UsersOperations  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.util import Choice  # noqa: E402


@pytest.fixture(scope="module")
def sdk_sandbox(crm_sandbox, tmp_path_factory):
    crm_sandbox.reset()
    folder = tmp_path_factory.mktemp("zoho-sdk")
    base = crm_sandbox.base_url
    crm_sandbox.reset_calls()
    sdk.Initializer.initialize(
        environment=DataCenter.Environment(base, base + "/oauth/v2/token", base),
        token=OAuthToken(client_id=crm_sandbox.client_id, client_secret=crm_sandbox.client_secret,
                         refresh_token=crm_sandbox.refresh_token),
        store=FileStore(str(folder / "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=str(folder),
        logger=Logger.get_instance(Logger.Levels.INFO, str(folder / "sdk.log")),
    )
    return crm_sandbox


@pytest.fixture
def http(sdk_sandbox) -> CrmApi:
    return CrmApi(sdk_sandbox)


def _ok(response, expected_status: int = 200):
    assert response is not None
    assert response.get_status_code() == expected_status
    body = response.get_object()
    assert not isinstance(body, APIException), (body.get_code().get_value(), body.get_details())
    return body


def test_initialisation_refreshed_the_token_and_read_user_and_org(sdk_sandbox):
    # The first SDK call triggers the token refresh and the user/org lookups.
    _ok(OrgOperations().get_organization())
    calls = sdk_sandbox.calls()["calls"]
    assert calls["POST /oauth/v2/token"] >= 1
    assert calls["GET /crm/v8/users"] >= 1 and calls["GET /crm/v8/org"] >= 1


def test_org_and_users(sdk_sandbox, http):
    org = _ok(OrgOperations().get_organization()).get_org()[0]
    raw = http.get("/org").json()["org"][0]
    assert (str(org.get_id()), org.get_company_name(), org.get_zgid(), org.get_iso_code()) == (
        raw["id"], raw["company_name"], raw["zgid"], "USD")
    assert org.get_mc_status() is False
    assert org.get_license_details().get_paid_type() == "professional"
    params = ParameterMap()
    params.add(GetUsersParam.type, "ActiveUsers")
    users = _ok(UsersOperations().get_users(params)).get_users()
    assert sorted(user.get_email() for user in users) == sorted(
        user["email"] for user in http.get("/users", params={"type": "ActiveUsers"}).json()["users"])


def test_fields_metadata(sdk_sandbox, http):
    params = ParameterMap()
    params.add(GetFieldsParam.module, "Contacts")
    fields = _ok(FieldsOperations().get_fields(params)).get_fields()
    raw = http.get("/settings/fields", params={"module": "Contacts"}).json()["fields"]
    assert [field.get_api_name() for field in fields] == [field["api_name"] for field in raw]
    by_name = {field.get_api_name(): field for field in fields}
    assert by_name["Account_Name"].get_lookup().get_module().get_api_name() == "Accounts"
    assert by_name["Last_Name"].get_system_mandatory() is True


def test_custom_views(sdk_sandbox, http):
    params = ParameterMap()
    params.add(GetCustomViewsParam.module, "Accounts")
    views = _ok(CustomViewsOperations().get_custom_views(params)).get_custom_views()
    assert [view.get_name() for view in views] == [
        view["name"] for view in http.get("/settings/custom_views", params={"module": "Accounts"}).json()["custom_views"]]
    one = ParameterMap()
    one.add(GetCustomViewParam.module, "Accounts")
    view = _ok(CustomViewsOperations().get_custom_view(views[1].get_id(), one)).get_custom_views()[0]
    criteria = view.get_criteria()
    assert criteria.get_field().get_api_name() == "Industry"
    assert criteria.get_value() == "Technology"


def test_list_records_with_page_token_paging(sdk_sandbox, http):
    operations = RecordOperations("Accounts")
    seen, token = [], None
    while True:
        params = ParameterMap()
        params.add(GetRecordsParam.fields, "Account_Name,Owner,Modified_Time,Employees")
        params.add(GetRecordsParam.per_page, 20)
        if token:
            params.add(GetRecordsParam.page_token, token)
        body = _ok(operations.get_records(params, HeaderMap()))
        seen += body.get_data()
        info = body.get_info()
        if not info.get_more_records():
            break
        token = info.get_next_page_token()
    assert len(seen) == len({record.get_id() for record in seen}) == 50
    raw = {record["id"]: record for record in http.get("/Accounts", params={
        "fields": "Account_Name,Owner,Modified_Time,Employees"}).json()["data"]}
    for record in seen:
        stored = raw[str(record.get_id())]
        assert record.get_key_value("Account_Name") == stored["Account_Name"]
        assert record.get_key_value("Employees") == stored["Employees"]
        assert record.get_key_value("Owner").get_email() == stored["Owner"]["email"]
        assert record.get_key_value("Modified_Time") == datetime.fromisoformat(stored["Modified_Time"])


def test_list_records_with_page_numbers_and_if_modified_since(sdk_sandbox):
    operations = RecordOperations("Contacts")
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Last_Name,Account_Name")
    params.add(GetRecordsParam.per_page, 100)
    params.add(GetRecordsParam.page, 2)
    body = _ok(operations.get_records(params, HeaderMap()))
    assert len(body.get_data()) == 50 and body.get_info().get_page() == 2
    linked = [r for r in body.get_data() if r.get_key_value("Account_Name") is not None]
    assert linked and linked[0].get_key_value("Account_Name").get_id()
    headers = HeaderMap()
    headers.add(GetRecordsHeader.if_modified_since, datetime.now().astimezone())
    response = operations.get_records(params, headers)
    assert response.get_status_code() == 304 and response.get_object() is None


def test_get_one_record(sdk_sandbox, http):
    record_id = http.all_ids("Products")[0]
    record = _ok(RecordOperations("Products").get_record(int(record_id))).get_data()[0]
    stored = http.get(f"/Products/{record_id}").json()["data"][0]
    assert str(record.get_id()) == record_id
    assert record.get_key_value("Product_Name") == stored["Product_Name"]
    assert record.get_key_value("Unit_Price") == stored["Unit_Price"]
    assert record.get_key_value("Created_Time") == datetime.fromisoformat(stored["Created_Time"])


def test_unknown_record_is_an_api_exception(sdk_sandbox):
    response = RecordOperations("Accounts").get_record(5843104009999999999)
    assert response.get_status_code() == 400
    error = response.get_object()
    assert isinstance(error, APIException) and error.get_code().get_value() == "INVALID_DATA"


def test_upsert_with_partial_failure(sdk_sandbox, http):
    existing = http.get("/Accounts", params={"fields": "Account_Name", "per_page": 1}).json()["data"][0]
    records = []
    for values in ({"Account_Name": existing["Account_Name"], "Phone": "+1 555 0100"},
                   {"Account_Name": "SDK Upsert GmbH", "Phone": "+49 30 1234"},
                   {"Phone": "000"}):
        record = Record()
        for key, value in values.items():
            record.add_key_value(key, value)
        records.append(record)
    body = BodyWrapper()
    body.set_data(records)
    body.set_duplicate_check_fields(["Account_Name"])
    results = _ok(RecordOperations("Accounts").upsert_records(body), 207).get_data()
    assert str(results[0].get_details()["id"]) == existing["id"]
    assert results[0].get_message().get_value() == "record updated"
    assert results[1].get_status().get_value() == "success"
    assert results[2].get_code().get_value() == "MANDATORY_NOT_FOUND"
    assert http.get(f"/Accounts/{existing['id']}").json()["data"][0]["Phone"] == "+1 555 0100"
    found = http.get("/Accounts/search", params={"criteria": "(Account_Name:equals:SDK Upsert GmbH)"}).json()["data"]
    assert [record["Phone"] for record in found] == ["+49 30 1234"]


def test_search_records(sdk_sandbox, http):
    params = ParameterMap()
    params.add(SearchRecordsParam.criteria, "(Industry:equals:Retail)")
    found = _ok(RecordOperations("Accounts").search_records(params)).get_data()
    expected = http.get("/Accounts/search", params={"criteria": "(Industry:equals:Retail)"}).json()["data"]
    assert sorted(str(record.get_id()) for record in found) == sorted(record["id"] for record in expected)


def test_delete_and_deleted_records(sdk_sandbox, http):
    victim = http.all_ids("Vendors")[-1]
    params = ParameterMap()
    params.add(DeleteRecordsParam.ids, victim)
    results = _ok(RecordOperations("Vendors").delete_records(params)).get_data()
    assert results[0].get_status().get_value() == "success"
    deleted_params = ParameterMap()
    deleted_params.add(GetDeletedRecordsParam.type, "recycle")
    deleted = _ok(RecordOperations("Vendors").get_deleted_records(deleted_params)).get_data()
    assert victim in {str(item.get_id()) for item in deleted}


def test_bulk_read_job_created_polled_and_downloaded(sdk_sandbox, http):
    condition = bulk_read.Criteria()
    field = MinifiedField()
    field.set_api_name("Modified_Time")
    condition.set_field(field)
    condition.set_comparator(Choice("greater_equal"))
    condition.set_value("2024-06-01T00:00:00+00:00")
    criteria = bulk_read.Criteria()
    criteria.set_group_operator(Choice("and"))
    criteria.set_group([condition])
    module = MinifiedModule()
    module.set_api_name("Accounts")
    query = bulk_read.Query()
    query.set_module(module)
    query.set_fields(["Account_Name", "Modified_Time"])
    query.set_criteria(criteria)
    body = bulk_read.BodyWrapper()
    body.set_query(query)
    body.set_file_type("csv")
    operations = bulk_read.BulkReadOperations()
    created = _ok(operations.create_bulk_read_job(body), 201).get_data()[0]
    assert created.get_code().get_value() == "ADDED_SUCCESSFULLY"
    job_id = int(created.get_details()["id"])
    deadline = time.monotonic() + 10
    while (job := _ok(operations.get_bulk_read_job_details(job_id)).get_data()[0]).get_state().get_value() != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job.get_query().get_module().get_api_name() == "Accounts"
    assert job.get_result().get_download_url() == f"/crm/bulk/v8/read/{job_id}/result"
    file = _ok(operations.download_result(job_id)).get_file()
    assert file.get_name() == f"{job_id}.zip"
    with zipfile.ZipFile(io.BytesIO(file.get_stream().content)) as archive:  # the stream is the HTTP response
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open(f"{job_id}.csv"), encoding="utf-8")))
    since = datetime.fromisoformat("2024-06-01T00:00:00+00:00")
    expected = [record["id"] for record in http.get("/Accounts", params={
        "fields": "Modified_Time", "sort_by": "id", "sort_order": "asc"}).json()["data"]
        if datetime.fromisoformat(record["Modified_Time"]) >= since]
    assert [row["id"] for row in rows] == expected and len(expected) == job.get_result().get_count()
