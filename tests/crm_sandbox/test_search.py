import pytest

from .conftest import assert_error


def _search(crm, module: str, **params) -> list[dict]:
    response = crm.get(f"/{module}/search", params=params)
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _all(crm, module: str, fields: str) -> list[dict]:
    return crm.get(f"/{module}", params={"fields": fields}).json()["data"]


def test_equals_on_text_matches_a_whole_word(crm):
    crm.post("/Accounts", json={"data": [{"Account_Name": "Acme"}, {"Account_Name": "Acme Retail"},
                                         {"Account_Name": "Acmeville Corp"}]})
    names = {record["Account_Name"] for record in _search(crm, "Accounts", criteria="(Account_Name:equals:acme)")}
    assert names == {"Acme", "Acme Retail"}


def test_starts_with_and_in(crm):
    names = [record["Account_Name"] for record in _all(crm, "Accounts", "Account_Name")]
    prefix = names[0].split(" ")[0]
    found = _search(crm, "Accounts", criteria=f"(Account_Name:starts_with:{prefix})", fields="Account_Name")
    assert {r["Account_Name"] for r in found} == {n for n in names if n.lower().startswith(prefix.lower())}
    found = _search(crm, "Accounts", criteria="(Industry:in:Retail,Finance)", fields="Industry")
    assert found and {r["Industry"] for r in found} <= {"Retail", "Finance"}


def test_numeric_comparisons_and_between(crm):
    records = _all(crm, "Accounts", "Employees")
    big = _search(crm, "Accounts", criteria="(Employees:greater_than:450)")
    assert {r["id"] for r in big} == {r["id"] for r in records if (r["Employees"] or 0) > 450}
    middle = _search(crm, "Accounts", criteria="(Employees:between:40,450)")
    assert {r["id"] for r in middle} == {r["id"] for r in records if 40 <= (r["Employees"] or -1) <= 450}


def test_and_or_with_parentheses(crm):
    records = _all(crm, "Accounts", "Industry,Billing_Country")
    criteria = "((Industry:equals:Retail)or(Industry:equals:Technology))and(Billing_Country:equals:Germany)"
    expected = {r["id"] for r in records
                if r["Industry"] in ("Retail", "Technology") and r["Billing_Country"] == "Germany"}
    assert {r["id"] for r in _search(crm, "Accounts", criteria=f"({criteria})")} == expected


def test_escaped_parentheses_and_commas_in_values(crm):
    crm.post("/Accounts", json={"data": [{"Account_Name": "Patricia (Boyle), Ltd"}]})
    found = _search(crm, "Accounts", criteria=r"(Account_Name:starts_with:Patricia \(Boyle\)\, Ltd)")
    assert [r["Account_Name"] for r in found] == ["Patricia (Boyle), Ltd"]


def test_datetime_criteria_compare_instants(crm):
    records = crm.get("/Accounts", params={"fields": "Modified_Time", "sort_by": "Modified_Time",
                                           "sort_order": "asc"}).json()["data"]
    cutoff = records[10]["Modified_Time"]
    found = _search(crm, "Accounts", criteria=f"(Modified_Time:greater_equal:{cutoff})", per_page=200)
    from datetime import datetime

    limit = datetime.fromisoformat(cutoff)
    assert {r["id"] for r in found} == {r["id"] for r in records if datetime.fromisoformat(r["Modified_Time"]) >= limit}


def test_lookup_criteria_by_id_and_by_name(crm):
    contacts = _all(crm, "Contacts", "Account_Name")
    account = next(c["Account_Name"] for c in contacts if c["Account_Name"])
    expected = {c["id"] for c in contacts if c["Account_Name"] and c["Account_Name"]["id"] == account["id"]}
    by_id = _search(crm, "Contacts", criteria=f"(Account_Name.id:equals:{account['id']})")
    assert {r["id"] for r in by_id} == expected
    by_name = _search(crm, "Contacts", criteria=f"(Account_Name:equals:{account['name']})")
    assert {r["id"] for r in by_name} == expected


def test_more_than_ten_criteria_is_refused(crm):
    criteria = "(" + "and".join(f"(Industry:equals:Retail{n})" for n in range(11)) + ")"
    assert_error(crm.get("/Accounts/search", params={"criteria": criteria}), 400, "LIMIT_EXCEEDED")


@pytest.mark.parametrize("criteria", [
    "Industry:equals:Retail", "(Industry:equals:Retail", "(Industry:equals)", "((Industry:equals:Retail)",
    "(Industry:equals:Retail)xor(Industry:equals:Finance)", "()", "(Industry:equals:Retail))",
])
def test_bad_criteria_syntax_is_invalid_query(crm, criteria):
    assert_error(crm.get("/Accounts/search", params={"criteria": criteria}), 400, "INVALID_QUERY")


def test_unknown_field_or_operator_is_invalid_query(crm):
    body = assert_error(crm.get("/Accounts/search", params={"criteria": "(Nope:equals:1)"}), 400, "INVALID_QUERY")
    assert body["details"]["api_name"] == "Nope"
    assert_error(crm.get("/Accounts/search", params={"criteria": "(Employees:starts_with:1)"}), 400, "INVALID_QUERY")
    assert_error(crm.get("/Accounts/search", params={"criteria": "(Employees:greater_than:lots)"}), 400,
                 "INVALID_QUERY")


def test_email_phone_and_word_modes(crm):
    contact = _all(crm, "Contacts", "Email,Phone,Last_Name")[0]
    assert contact["id"] in {r["id"] for r in _search(crm, "Contacts", email=contact["Email"].upper())}
    assert contact["id"] in {r["id"] for r in _search(crm, "Contacts", phone=contact["Phone"])}
    found = _search(crm, "Contacts", word=contact["Last_Name"], fields="Last_Name,Email")
    assert contact["id"] in {r["id"] for r in found}
    assert set(found[0]) <= {"Last_Name", "Email", "id"}


def test_search_needs_exactly_one_mode(crm):
    assert_error(crm.get("/Accounts/search"), 400, "REQUIRED_PARAM_MISSING")
    response = crm.get("/Accounts/search", params={"word": "Acme", "email": "a@b.test"})
    assert_error(response, 400, "AMBIGUITY_DURING_PROCESSING")


def test_no_match_is_204(crm):
    response = crm.get("/Accounts/search", params={"criteria": "(Account_Name:equals:Nothing Like This)"})
    assert response.status_code == 204 and response.content == b""


def test_search_pages(crm):
    first = crm.get("/Contacts/search", params={"word": "test", "per_page": 100}).json()
    assert first["info"] == {"per_page": 100, "count": 100, "page": 1, "more_records": True}
    second = crm.get("/Contacts/search", params={"word": "test", "per_page": 100, "page": 2}).json()
    assert second["info"]["count"] == 50 and not second["info"]["more_records"]


def test_count_with_and_without_criteria(crm):
    assert crm.get("/Contacts/actions/count").json() == {"count": 150}
    records = _all(crm, "Accounts", "Industry")
    count = crm.get("/Accounts/actions/count", params={"criteria": "(Industry:equals:Retail)"}).json()["count"]
    assert count == sum(1 for r in records if r["Industry"] == "Retail")
