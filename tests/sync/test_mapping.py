"""Type conversion CRM ⇄ ERP per ERP field kind: what converts, and the reason when it does not."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from sync.engine.mapping import (
    ConversionError,
    FieldSpec,
    plain_fields,
    record_to_erp,
    to_crm,
    to_erp,
    write_erp_changes,
)

NAME = FieldSpec("display_name", "Account_Name", "text", "text", max_length=10)
EMAIL = FieldSpec("email", "Email", "email", "email", max_length=254)
RATE = FieldSpec("rate", "Unit_Price", "decimal", "currency")
SCORE = FieldSpec("cf:Score", "Score", "decimal", "double")
KIND = FieldSpec("item_type", "Product_Type", "choice", "picklist", crm_choices=("Goods", "Services"))
TIER = FieldSpec("cf:Tier", "Tier", "choice", "picklist", choices=("Gold", "Silver"))
SINCE = FieldSpec("cf:Since", "Since", "date", "datetime")
VIP = FieldSpec("cf:Vip", "Vip", "boolean", "boolean")
SEATS = FieldSpec("cf:Seats", "Seats", "integer", "integer")
CURRENCY = FieldSpec("currency", "Currency", "currency_code", "picklist", max_length=3)


CONVERTS = [
    (NAME, "  Acme  ", "Acme"),
    (NAME, None, ""),
    (NAME, 42, "42"),
    (EMAIL, " ana@example.test ", "ana@example.test"),
    (RATE, 12.345, "12.35"),
    (RATE, None, "0"),
    (RATE, "7", "7"),
    (SCORE, 0.1, "0.1"),
    (SCORE, None, None),
    (KIND, "Services", "service"),
    (KIND, "goods", "goods"),
    (KIND, None, "goods"),
    (TIER, "gold", "Gold"),
    (SINCE, "2025-03-01T23:30:00+05:30", "2025-03-01"),
    (VIP, None, False),
    (SEATS, 12.0, 12),
    (CURRENCY, "eur", "EUR"),
]
REFUSED = [
    (NAME, "x" * 11, "11 characters long; at most 10 fit"),
    (NAME, "a\x00b", "NUL"),
    (NAME, ["a"], "expected text"),
    (EMAIL, "a@b.c", "not a valid email"),
    (RATE, "abc", "not a number"),
    (RATE, -1, "must not be negative"),
    (RATE, 10**13, "too large"),
    (KIND, "Bundle", "is not one of goods, service"),
    (TIER, "Bronze", "is not one of Gold, Silver"),
    (SINCE, "yesterday", "not a date"),
    (VIP, "yes", "not true or false"),
    (SEATS, "12a", "not a whole number"),
    (CURRENCY, "Euro", "three-letter"),
]


@pytest.mark.parametrize(("spec", "crm", "erp"), CONVERTS)
def test_crm_values_convert_to_the_erp_kind(spec, crm, erp):
    assert to_erp(spec, crm) == erp


@pytest.mark.parametrize(("spec", "crm", "reason"), REFUSED)
def test_values_that_do_not_convert_say_which_field_and_why(spec, crm, reason):
    with pytest.raises(ConversionError) as raised:
        to_erp(spec, crm)
    assert raised.value.field == spec.erp_field and raised.value.value == crm
    assert reason in raised.value.reason


def test_a_record_converts_each_field_as_the_field_alone_converts():
    # A record's conversion takes plain text that fits without the field's converter: its every other value,
    # and every value it refuses, still go through it, with the same result and the same reason.
    for spec, crm, erp in CONVERTS:
        assert record_to_erp([spec], {spec.crm_field: crm}) == ({spec.erp_field: erp}, []), (spec, crm)
    for spec, crm, reason in REFUSED:
        values, errors = record_to_erp([spec], {spec.crm_field: crm})
        assert values == {} and [(e.field, e.value) for e in errors] == [(spec.erp_field, crm)], (spec, crm)
        assert reason in errors[0].reason


def test_a_required_field_left_empty_is_refused_whatever_its_kind():
    name = FieldSpec("display_name", "Account_Name", "text", "text", max_length=10, required=True, label="Name")
    rate = FieldSpec("rate", "Unit_Price", "decimal", "currency", required=True)
    for record in ({}, {"Account_Name": "   "}, {"Account_Name": None}):
        values, errors = record_to_erp([name], record)
        assert values == {"display_name": ""} and [(e.field, e.reason, e.label) for e in errors] == [
            ("display_name", "is required", "Name")]
    assert record_to_erp([rate], {"Unit_Price": 0}) == ({"rate": "0"}, [])


def test_changes_are_set_on_the_erp_object_as_its_model_takes_them():
    by_name = {spec.erp_field: spec for spec in (NAME, RATE, SCORE)}
    plain = plain_fields(by_name)
    assert plain == {"display_name"}  # a decimal becomes a Decimal, a custom field goes into custom_fields
    for given in (frozenset(), plain):
        obj = SimpleNamespace(custom_fields={"Other": 1})
        changes = {"display_name": "Acme", "rate": "12.50", "cf:Score": "0.1"}
        assert write_erp_changes(by_name, obj, changes, plain=given) == {"display_name", "rate", "custom_fields"}
        assert (obj.display_name, obj.rate, obj.custom_fields) == ("Acme", Decimal("12.50"), {"Other": 1, "Score": "0.1"})
        obj = SimpleNamespace()
        assert write_erp_changes(by_name, obj, {"display_name": "Acme"}, plain=given) == {"display_name"}
        assert obj.display_name == "Acme"


def test_one_bad_field_does_not_hide_the_others():
    values, errors = record_to_erp([NAME, EMAIL, RATE], {"Account_Name": "Fine", "Email": "bad", "Unit_Price": -3})
    assert values == {"display_name": "Fine"}
    assert [error.field for error in errors] == ["email", "rate"]


def test_erp_values_go_out_in_the_crms_shapes():
    assert to_crm(RATE, "12.5") == 12.5
    assert to_crm(KIND, "service") == "Services"
    assert to_crm(NAME, "") is None
    assert to_crm(VIP, None) is False
    assert to_crm(FieldSpec("notes", "Employees", "text", "integer"), "12") == 12
