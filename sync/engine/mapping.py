"""Field mapping with type conversion: CRM values ⇄ the canonical values the engine compares and stores.

A canonical value is JSON (it lives in link snapshots) and is the same whichever side it was read from:
text is trimmed, decimals are normalised strings rounded like the ERP column, dates are ISO strings,
choices use the ERP's spelling. `to_erp` raises ConversionError with the field, the value and why; the
other directions never fail. For every valid canonical value v, `to_erp(spec, to_crm(spec, v)) == v`,
which is what makes our own pushed writes come back as no-ops.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from integration.catalogue import ITEM_TYPE_FROM_CRM

TEXT_KINDS = {"text", "textarea", "email", "phone", "url"}
PLAIN_TEXT_KINDS = TEXT_KINDS - {"email"}  # text taken as it is, trimmed (an email address is checked)
# Decimal columns of the ERP models a mapping may write: (max_digits, decimal_places).
MODEL_DECIMALS = {"rate": (14, 2), "purchase_rate": (14, 2)}
CUSTOM_DECIMAL = (18, 4)  # what the custom-field form accepts
MAX_CUSTOM_TEXT = 255
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Choices whose CRM spelling differs from the ERP's: ERP field -> CRM value -> ERP value.
CHOICE_FROM_CRM = {"item_type": ITEM_TYPE_FROM_CRM}
CHOICE_DEFAULTS = {"item_type": "goods"}


class _EmailCheck(EmailValidator):
    """Django's email rule with its patterns compiled up front (its lazy ones cost a lookup through a
    proxy at each use: a tenth of converting a record) and each domain's verdict remembered."""

    def __init__(self):
        super().__init__()
        for name in ("user_regex", "domain_regex", "literal_regex"):
            lazy = getattr(EmailValidator, name)
            setattr(self, name, re.compile(lazy.pattern, lazy.flags))
        self._domains: dict[str, bool] = {}

    def validate_domain_part(self, domain_part):
        verdict = self._domains.get(domain_part)
        if verdict is None:
            if len(self._domains) > 10_000:
                self._domains.clear()
            verdict = self._domains[domain_part] = super().validate_domain_part(domain_part)
        return verdict


validate_email = _EmailCheck()


class ConversionError(ValueError):
    def __init__(self, *, field: str, value: Any, reason: str, label: str = ""):
        self.field = field
        self.value = value
        self.reason = reason
        self.label = label or field  # the field as people call it
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class FieldSpec:
    """One mapped pair, with what the conversion needs to know about both sides."""

    erp_field: str  # model field, or "cf:<api_name>"
    crm_field: str
    kind: str  # the ERP field kind (catalogue.COMPATIBLE keys)
    crm_data_type: str = ""
    max_length: int | None = None
    required: bool = False
    choices: tuple[str, ...] = ()
    two_way: bool = False  # ERP changes of this field go to the CRM
    crm_choices: tuple[str, ...] = ()  # the CRM picklist's values, when known
    label: str = ""  # the ERP field as people call it ("Display name")

    @cached_property
    def is_custom(self) -> bool:
        return self.erp_field.startswith("cf:")

    @property
    def custom_name(self) -> str:
        return self.erp_field[3:]

    @cached_property
    def text_limit(self) -> int | None:
        """The most characters the ERP field holds (custom text fields have a limit of their own)."""
        return self.max_length or (MAX_CUSTOM_TEXT if self.is_custom and self.kind == "text" else None)


# --- CRM -> canonical ---------------------------------------------------------------------------------------


def _fail(spec: FieldSpec, value, reason: str):
    raise ConversionError(field=spec.erp_field, value=value, reason=reason, label=spec.label)


def _text(spec: FieldSpec, value) -> str:
    if value.__class__ is str:  # the common case first: most CRM values are text
        text = value.strip()
        limit = spec.text_limit
        if "\x00" not in text and (limit is None or len(text) <= limit) and spec.kind in PLAIN_TEXT_KINDS:
            return text
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | Decimal):
        text = _decimal_text(Decimal(str(value)))
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict) and "name" in value:  # a lookup shown as text
        text = str(value.get("name") or "")
    else:
        _fail(spec, value, f"expected text, got {type(value).__name__}")
    text = text.strip()
    if "\x00" in text:
        _fail(spec, value, "contains a NUL character")
    limit = spec.text_limit
    if limit is not None and len(text) > limit:
        _fail(spec, value, f"is {len(text)} characters long; at most {limit} fit")
    if spec.kind == "email" and text:
        try:
            validate_email(text)
        except ValidationError:
            _fail(spec, value, "is not a valid email address")
    return text


def _decimal_text(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _decimal(spec: FieldSpec, value) -> str | None:
    if value is None or value == "":
        return None if spec.is_custom else "0"
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        _fail(spec, value, f"expected a number, got {type(value).__name__}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        _fail(spec, value, "is not a number")
    if not number.is_finite():
        _fail(spec, value, "is not a finite number")
    digits, places = CUSTOM_DECIMAL if spec.is_custom else MODEL_DECIMALS.get(spec.erp_field, (14, 2))
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if len(number.as_tuple().digits) > digits or abs(number) >= Decimal(10) ** (digits - places):
        _fail(spec, value, f"is too large (at most {digits - places} digits before the point)")
    if not spec.is_custom and number < 0:
        _fail(spec, value, "must not be negative")
    return _decimal_text(number)


def _integer(spec: FieldSpec, value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        _fail(spec, value, "expected a whole number, got a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        _fail(spec, value, "is not a whole number")
    if abs(value) >= 2**63:
        _fail(spec, value, "is too large")
    return value


def _date(spec: FieldSpec, value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        _fail(spec, value, f"expected a date, got {type(value).__name__}")
    try:
        if "T" in value:
            return datetime.datetime.fromisoformat(value.strip()).date().isoformat()
        return datetime.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        _fail(spec, value, "is not a date (YYYY-MM-DD)")


def _boolean(spec: FieldSpec, value) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    _fail(spec, value, "is not true or false")


def _choice(spec: FieldSpec, value) -> str:
    default = CHOICE_DEFAULTS.get(spec.erp_field, "")
    if value is None or value == "" or value == "-None-":
        return default
    if not isinstance(value, str):
        _fail(spec, value, f"expected a picklist value, got {type(value).__name__}")
    wanted = value.strip().casefold()
    special = CHOICE_FROM_CRM.get(spec.erp_field)
    if special is not None:
        if wanted in special:
            return special[wanted]
        _fail(spec, value, f"is not one of {', '.join(sorted(set(special.values())))}")
    for option in spec.choices:
        if option.casefold() == wanted:
            return option
    _fail(spec, value, f"is not one of {', '.join(spec.choices)}")


def _currency(spec: FieldSpec, value) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        _fail(spec, value, "is not a currency code")
    code = value.strip().upper()
    if not _CURRENCY.match(code):
        _fail(spec, value, "is not a three-letter currency code")
    return code


_CONVERTERS = {
    "text": _text, "textarea": _text, "email": _text, "phone": _text, "url": _text,
    "decimal": _decimal, "integer": _integer, "date": _date, "boolean": _boolean, "choice": _choice,
    "currency_code": _currency,
}


def to_erp(spec: FieldSpec, value) -> Any:
    """A CRM value -> canonical, or ConversionError."""
    return _CONVERTERS[spec.kind](spec, value)


def record_to_erp(specs: list[FieldSpec], record: dict) -> tuple[dict, list[ConversionError]]:
    """All mapped values of one CRM record: (canonical values that converted, errors)."""
    return record_converter(specs)(record)


def record_converter(specs: list[FieldSpec]) -> Callable[[dict], tuple[dict, list[ConversionError]]]:
    """record_to_erp for many records under the same specs: what each field needs is looked up once, and
    plain text that fits (most CRM values) is taken as _text would take it, without a call."""
    steps = [(spec.crm_field, spec.erp_field, spec.kind in PLAIN_TEXT_KINDS, spec.text_limit, spec.required,
              _CONVERTERS[spec.kind], spec) for spec in specs]

    def convert(record: dict) -> tuple[dict, list[ConversionError]]:
        values, errors = {}, []
        for crm_field, erp_field, plain, limit, required, to_canonical, spec in steps:
            raw, value = record.get(crm_field), None
            if plain and raw.__class__ is str:
                value = raw.strip()
                if "\x00" in value or (limit is not None and len(value) > limit):
                    value = None  # _text says why
            if value is None:
                try:
                    value = to_canonical(spec, raw)  # (to_erp)
                except ConversionError as error:
                    errors.append(error)
                    continue
            values[erp_field] = value
            if required and value in ("", None):
                errors.append(ConversionError(field=erp_field, value=raw, reason="is required", label=spec.label))
        return values, errors

    return convert


# --- ERP <-> canonical --------------------------------------------------------------------------------------


def read_erp(spec: FieldSpec, obj) -> Any:
    """The canonical value of a field on an ERP object. Lenient: what a person typed may not convert."""
    if spec.is_custom:
        raw = (obj.custom_fields or {}).get(spec.custom_name)
    else:
        raw = getattr(obj, spec.erp_field)
    try:
        return to_erp(spec, raw)
    except ConversionError:
        # Keep the value as it is: it differs from any snapshot, so a push will try it (and say why not).
        return raw if raw is None or isinstance(raw, str | int | bool) else str(raw)


def write_erp(spec: FieldSpec, obj, value) -> None:
    """Set a canonical value on an ERP object (without saving)."""
    if spec.is_custom:
        values = dict(obj.custom_fields or {})
        values[spec.custom_name] = None if value == "" else value
        obj.custom_fields = values
        return
    if spec.kind == "decimal":
        value = Decimal(value if value is not None else "0")
    setattr(obj, spec.erp_field, value)


def plain_fields(by_name: dict[str, FieldSpec]) -> frozenset[str]:
    """The mapped model fields that take their canonical value as it is (not custom, not decimal)."""
    return frozenset(name for name, spec in by_name.items() if not spec.is_custom and spec.kind != "decimal")


def write_erp_changes(by_name: dict[str, FieldSpec], obj, changes: dict, *, plain: frozenset = frozenset()) -> set[str]:
    """write_erp for each change (ERP field -> canonical value); returns the model fields it set. `plain`
    (plain_fields of `by_name`): changes all of those are set without looking each field up."""
    if plain and changes.keys() <= plain:
        for name, value in changes.items():
            setattr(obj, name, value)
        return set(changes)
    fields = set()
    for name, value in changes.items():
        spec = by_name[name]
        if spec.is_custom:
            write_erp(spec, obj, value)
            fields.add("custom_fields")
            continue
        if spec.kind == "decimal":
            value = Decimal(value if value is not None else "0")
        setattr(obj, name, value)
        fields.add(name)
    return fields


# --- canonical -> CRM ---------------------------------------------------------------------------------------


def to_crm(spec: FieldSpec, value) -> Any:
    """A canonical value -> what the CRM's API takes for the field."""
    if value is None or value == "":
        return False if spec.kind == "boolean" else None
    kind, crm_type = spec.kind, spec.crm_data_type
    if kind == "decimal" or (kind in TEXT_KINDS and crm_type in ("double", "currency", "percent")):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return value
        return int(number) if crm_type in ("integer", "bigint", "long") else float(number)
    if kind == "integer":
        return value
    if kind == "choice":
        return _crm_choice(spec, value)
    if kind == "text" and crm_type in ("integer", "bigint", "long"):
        return int(value) if re.fullmatch(r"-?\d+", str(value)) else value
    if kind == "text" and crm_type == "boolean":
        return str(value).lower() == "true"
    return value


def _crm_choice(spec: FieldSpec, value: str) -> str:
    special = CHOICE_FROM_CRM.get(spec.erp_field)
    candidates = spec.crm_choices or ()
    for candidate in candidates:
        key = candidate.casefold()
        if special is not None and special.get(key) == value:
            return candidate
        if special is None and key == value.casefold():
            return candidate
    if special is not None:
        # Without the picklist at hand, the CRM's usual spelling: "goods" -> "Goods", "service" -> "Services".
        plural = {"service": "Services"}.get(value)
        return plural or value.capitalize()
    return value


def round_trip(spec: FieldSpec, value) -> Any:
    """What the CRM will hand back for a value we push: the snapshot after a push."""
    try:
        return to_erp(spec, to_crm(spec, value))
    except ConversionError:
        return value
