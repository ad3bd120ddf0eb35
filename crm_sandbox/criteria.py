"""Search criteria `((Field:operator:value)and(...))`, custom-view criteria and Bulk Read's criteria JSON,
translated to SQL.

All forms become the same tree: ("cond", field, operator, value) or ("group", "and"|"or", [nodes]).
Custom views and Bulk Read use Zoho's comparator names (`equal`, `contains`, ...); search uses its
operator names (`equals`, `starts_with`, ...). `equals` on text searches behaves like "contains the word",
as Zoho's documentation describes; a comparator's `equal` is an exact (case-insensitive) match.
"""

from .errors import ApiError, invalid_param, invalid_query
from .schema import MODULES, USERS, custom_views, parse_id
from .times import parse_time

MAX_CRITERIA = 10

_TEXT = {"text", "textarea", "email", "phone", "website"}
_NUMERIC = {"integer", "bigint", "double", "currency", "percent"}
_ORDERED = {"greater_than", "greater_equal", "less_than", "less_equal", "between"}
OPERATORS = {
    "text": {"equals", "not_equal", "starts_with", "in"},
    "picklist": {"equals", "not_equal", "starts_with", "in"},
    "number": {"equals", "not_equal", "in", *_ORDERED},
    "date": {"equals", "not_equal", "in", *_ORDERED},
    "boolean": {"equals", "not_equal"},
    "lookup": {"equals", "not_equal", "in"},
}
# The comparators of views and Bulk Read criteria, per kind of field.
_TEXT_COMPARATORS = {"equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"}
_ORDERED_COMPARATORS = {"equal", "not_equal", "in", "not_in", "less_than", "less_equal", "greater_than",
                        "greater_equal", "between", "not_between"}
COMPARATORS = {
    "text": _TEXT_COMPARATORS, "picklist": _TEXT_COMPARATORS,
    "number": _ORDERED_COMPARATORS, "date": _ORDERED_COMPARATORS,
    "boolean": {"equal", "not_equal"},
    "lookup": {"equal", "not_equal", "in", "not_in"},
}
_LIST_COMPARATORS = {"in", "not_in", "between", "not_between"}
_NEGATIVE = {"not_equal", "not_in"}
MAX_DEPTH = 10


def parse(text: str) -> tuple:
    """Search criteria -> tree. Raises ApiError(INVALID_QUERY) on bad syntax."""
    parser = _Parser(text.strip())
    node = parser.sequence()
    if parser.pos != len(parser.text):
        raise invalid_query("invalid criteria format", position=parser.pos)
    if _count(node) > MAX_CRITERIA:
        raise ApiError(400, "LIMIT_EXCEEDED", "maximum of 10 criteria is allowed in search",
                       {"limit": MAX_CRITERIA, "param_name": "criteria"})
    return node


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def sequence(self) -> tuple:
        """group (and|or group)* ; groups combine left to right."""
        node = self.group()
        while True:
            self._skip_spaces()
            rest = self.text[self.pos:self.pos + 3].lower()
            if rest.startswith("and"):
                operator, self.pos = "and", self.pos + 3
            elif rest.startswith("or"):
                operator, self.pos = "or", self.pos + 2
            else:
                return node
            self._skip_spaces()
            node = ("group", operator, [node, self.group()])

    def group(self) -> tuple:
        self._skip_spaces()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise invalid_query("invalid criteria format", position=self.pos)
        self.pos += 1
        self._skip_spaces()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            node = self.sequence()
        else:
            node = self.condition()
        self._skip_spaces()
        if self.pos >= len(self.text) or self.text[self.pos] != ")":
            raise invalid_query("invalid criteria format", position=self.pos)
        self.pos += 1
        return node

    def condition(self) -> tuple:
        """Field:operator:value up to the first unescaped ')'; the value may contain ':' (date-times)."""
        parts = [[]]
        while self.pos < len(self.text) and self.text[self.pos] != ")":
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                parts[-1].append(("escaped", self.text[self.pos + 1]))
                self.pos += 2
                continue
            if char == "(":
                raise invalid_query("invalid criteria format", position=self.pos)
            if char == ":" and len(parts) < 3:
                parts.append([])
            else:
                parts[-1].append(("plain", char))
            self.pos += 1
        if len(parts) != 3:
            raise invalid_query("invalid criteria format", position=self.pos)
        field = "".join(char for _, char in parts[0]).strip()
        operator = "".join(char for _, char in parts[1]).strip().lower()
        values = [[]]
        for kind, char in parts[2]:
            if kind == "plain" and char == ",":
                values.append([])
            else:
                values[-1].append(char)
        texts = ["".join(chars) for chars in values]
        return ("cond", field, operator, texts)

    def _skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1


def _count(node: tuple) -> int:
    return 1 if node[0] == "cond" else sum(_count(child) for child in node[2])


def from_view(criteria: dict | None) -> tuple | None:
    """A custom view's criteria JSON -> tree (values kept as given)."""
    if not criteria:
        return None
    if "group" in criteria:
        return ("group", criteria["group_operator"].lower(), [from_view(item) for item in criteria["group"]])
    value = criteria["value"]
    values = value if isinstance(value, list) else [value]
    return ("cond", criteria["field"]["api_name"], criteria["comparator"], values)


def view_filter(module: str, cvid, fields: dict[str, dict]) -> tuple[str, list]:
    """(SQL condition, parameters) of one of the module's custom views, by id; INVALID_DATA when unknown."""
    view = next((view for view in custom_views(module) if view["id"] == str(cvid)), None)
    if view is None:
        raise invalid_param("cvid", "the given custom view id seems to be invalid")
    tree = from_view(view["criteria"])
    if tree is None:
        return "1", []
    return to_sql(tree, fields, view=True)


def from_json(node, fields: dict[str, dict], path: str = "$.query.criteria", depth: int = 0) -> tuple[str, list]:
    """Bulk Read's criteria, `{"field": {"api_name"}, "comparator", "value"}` or `{"group_operator",
    "group": [...]}` nested -> (SQL condition, parameters). Raises INVALID_DATA or MANDATORY_NOT_FOUND
    with the json_path of what is wrong."""
    if not isinstance(node, dict) or depth > MAX_DEPTH:
        raise _bad_json("criteria", path, "a criterion is a condition or a group, at most 10 groups deep")
    if "group" in node or "group_operator" in node:
        operator, group = node.get("group_operator"), node.get("group")
        if not isinstance(operator, str) or operator.lower() not in ("and", "or"):
            raise _bad_json("group_operator", f"{path}.group_operator", "group_operator is and or or")
        if not isinstance(group, list) or not group:
            raise _bad_json("group", f"{path}.group", "group is a non-empty list of criteria")
        parts, params = [], []
        for index, child in enumerate(group):
            sql, child_params = from_json(child, fields, f"{path}.group[{index}]", depth + 1)
            parts.append(f"({sql})")
            params.extend(child_params)
        return f" {operator.upper()} ".join(parts), params
    return _json_condition(node, fields, path)


def _json_condition(node: dict, fields: dict[str, dict], path: str) -> tuple[str, list]:
    for key in ("field", "comparator", "value"):
        if key not in node:
            raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                           {"api_name": key, "json_path": f"{path}.{key}"})
    field = node["field"]
    name = field.get("api_name") if isinstance(field, dict) else None
    if name != "id" and (not isinstance(name, str) or name not in fields):
        raise _bad_json("field", f"{path}.field.api_name", f"the field {name!r} is not one of the module's fields")
    data_type = "bigint" if name == "id" else fields[name]["data_type"]
    comparator, value = node["comparator"], node["value"]
    if not isinstance(comparator, str) or comparator not in COMPARATORS.get(_kind(data_type), ()):
        raise _bad_json("comparator", f"{path}.comparator",
                        f"the comparator {comparator!r} cannot be used on {name} ({data_type})")
    if comparator in _LIST_COMPARATORS:
        values = value if isinstance(value, list) else [value]
        if not values or (comparator.endswith("between") and len(values) != 2):
            raise _bad_json("value", f"{path}.value", f"{comparator} takes a list of "
                            f"{'two values' if comparator.endswith('between') else 'values'}")
    elif isinstance(value, list | dict):
        raise _bad_json("value", f"{path}.value", f"{comparator} takes a single value")
    else:
        values = [value]
    if any(item is None or isinstance(item, list | dict) for item in values):
        raise _bad_json("value", f"{path}.value", "values are texts, numbers or booleans")
    try:
        return _condition(name, comparator, values, fields, view=True)
    except ApiError:
        raise _bad_json("value", f"{path}.value", f"the value does not fit {name} ({data_type})") from None


def _bad_json(key: str, path: str, message: str) -> ApiError:
    return ApiError(400, "INVALID_DATA", message, {"api_name": key, "json_path": path})


def to_sql(node: tuple, fields: dict[str, dict], *, view: bool = False) -> tuple[str, list]:
    """Tree -> (SQL condition, parameters) over the `records` table."""
    if node[0] == "group":
        parts, params = [], []
        for child in node[2]:
            sql, child_params = to_sql(child, fields, view=view)
            parts.append(f"({sql})")
            params.extend(child_params)
        return f" {node[1].upper()} ".join(parts), params
    _, name, operator, values = node
    return _condition(name, operator, values, fields, view)


def _kind(data_type: str) -> str:
    if data_type in _TEXT:
        return "text"
    if data_type in _NUMERIC:
        return "number"
    if data_type in ("date", "datetime"):
        return "date"
    if data_type in ("lookup", "ownerlookup", "userlookup"):
        return "lookup"
    if data_type in ("picklist", "multiselectpicklist"):
        return "picklist"
    return data_type


def _condition(name: str, operator: str, values: list, fields: dict, view: bool) -> tuple[str, list]:
    base, _, attribute = name.partition(".")
    if base == "id":
        field = {"api_name": "id", "data_type": "bigint"}
    else:
        field = fields.get(base)
        if field is None or (attribute and (attribute not in ("id", "name") or _kind(field["data_type"]) != "lookup")):
            raise invalid_query("invalid field", api_name=name)
    kind = _kind(field["data_type"])
    if view:
        if operator not in COMPARATORS.get(kind, set()):
            raise invalid_query("invalid comparator", api_name=name, operator=operator)
    elif operator not in OPERATORS.get(kind, set()):
        raise invalid_query("the operator is not supported for this field", api_name=name, operator=operator)
    if operator in ("between", "not_between") and len(values) != 2:
        raise invalid_query("between needs two values", api_name=name)
    if operator not in _LIST_COMPARATORS and len(values) != 1:
        # An unescaped comma outside `in`/`between` is part of the value.
        values = [",".join(str(value) for value in values)]
    column = _column(field)
    if kind == "lookup":
        return _lookup_condition(field, column, operator, values, attribute)
    if kind == "boolean":
        flags = [_boolean(value, name) for value in values]
        sql = f"{column} = ?" if operator in ("equals", "equal") else f"({column} IS NULL OR {column} != ?)"
        return sql, flags
    if kind in ("number", "date") or field["api_name"] == "id":
        params = [_ordered_value(field, value, name) for value in values]
        return _compare(column, operator, params)
    return _text_condition(column, operator, [str(value) for value in values], field["data_type"], view)


def _column(field: dict) -> str:
    name = field["api_name"]
    if name == "id":
        return "id"
    if name in ("Created_Time", "Modified_Time"):
        return name.lower()
    return f"json_extract(data, '$.{name}')"


def _boolean(value, name: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if str(value).lower() in ("true", "false"):
        return int(str(value).lower() == "true")
    raise invalid_query("invalid value", api_name=name)


def _ordered_value(field: dict, value, name: str):
    data_type = field["data_type"]
    try:
        if field["api_name"] == "id":
            number = parse_id(value)
            if number is None:
                raise ValueError(value)
            return number
        if data_type == "datetime":
            return parse_time(str(value))
        if data_type == "date":
            text = str(value)
            if len(text) != 10 or text[4] != "-" or text[7] != "-":
                raise ValueError(text)
            return text
        return float(value)
    except (TypeError, ValueError):
        raise invalid_query("invalid value", api_name=name) from None


def _compare(column: str, operator: str, params: list) -> tuple[str, list]:
    simple = {"equals": "=", "equal": "=", "greater_than": ">", "greater_equal": ">=", "less_than": "<",
              "less_equal": "<="}
    if operator in simple:
        return f"{column} {simple[operator]} ?", params
    if operator == "not_equal":
        return f"({column} IS NULL OR {column} != ?)", params
    if operator == "between":
        return f"{column} BETWEEN ? AND ?", params
    if operator == "not_between":
        return f"({column} IS NULL OR {column} NOT BETWEEN ? AND ?)", params
    if operator == "in":
        return f"{column} IN ({','.join('?' * len(params))})", params
    if operator == "not_in":
        return f"({column} IS NULL OR {column} NOT IN ({','.join('?' * len(params))}))", params
    raise invalid_query("the operator is not supported for this field", operator=operator)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_condition(column: str, operator: str, values: list[str], data_type: str, view: bool) -> tuple[str, list]:
    # LIKE is case-insensitive for ASCII in SQLite, which matches Zoho's case-insensitive search.
    if operator == "equals" and not view and data_type in ("text", "textarea"):
        value = _like(values[0])
        return (f"({column} LIKE ? ESCAPE '\\' OR {column} LIKE ? ESCAPE '\\' OR {column} LIKE ? ESCAPE '\\' "
                f"OR {column} LIKE ? ESCAPE '\\')", [value, f"{value} %", f"% {value}", f"% {value} %"])
    if operator in ("equals", "equal"):
        return f"{column} LIKE ? ESCAPE '\\'", [_like(values[0])]
    if operator == "not_equal":
        return f"({column} IS NULL OR {column} NOT LIKE ? ESCAPE '\\')", [_like(values[0])]
    if operator == "starts_with":
        return f"{column} LIKE ? ESCAPE '\\'", [_like(values[0]) + "%"]
    if operator == "ends_with":
        return f"{column} LIKE ? ESCAPE '\\'", ["%" + _like(values[0])]
    if operator == "contains":
        return f"{column} LIKE ? ESCAPE '\\'", ["%" + _like(values[0]) + "%"]
    if operator == "not_contains":
        return f"({column} IS NULL OR {column} NOT LIKE ? ESCAPE '\\')", ["%" + _like(values[0]) + "%"]
    if operator == "in":
        return f"lower({column}) IN ({','.join('lower(?)' for _ in values)})", values
    if operator == "not_in":
        return f"({column} IS NULL OR lower({column}) NOT IN ({','.join('lower(?)' for _ in values)}))", values
    return _compare(column, operator, values)


def _lookup_condition(field: dict, column: str, operator: str, values: list, attribute: str) -> tuple[str, list]:
    """Lookups match on the target's id (`Account_Name.id`, or a numeric value) or on its name."""
    if field["data_type"] in ("ownerlookup", "userlookup"):
        ids = []
        for value in values:
            text = str(value).lower()
            ids.extend(user["id"] for user in USERS
                       if text in (user["id"], user["full_name"].lower(), user["email"].lower()))
        ids = ids or ["-"]
        sql = f"{column} IN ({','.join('?' * len(ids))})"
        return (sql if operator not in _NEGATIVE else f"({column} IS NULL OR NOT {sql})"), ids
    by_id = attribute == "id" or (attribute == "" and all(parse_id(value) is not None for value in values))
    if by_id:
        sql = f"{column} IN ({','.join('?' * len(values))})"
        params = [str(value) for value in values]
    else:
        target = field["lookup"]["module"]["api_name"]
        name_column = f"json_extract(data, '$.{MODULES[target]['name_field']}')"
        marks = ",".join("lower(?)" for _ in values)
        sql = (f"{column} IN (SELECT CAST(id AS TEXT) FROM records WHERE module = '{target}' "
               f"AND lower({name_column}) IN ({marks}))")
        params = [str(value) for value in values]
    if operator in _NEGATIVE:
        return f"({column} IS NULL OR NOT {sql})", params
    return sql, params
