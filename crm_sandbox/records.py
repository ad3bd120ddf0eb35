"""Records as Zoho stores and returns them: value validation, writes with per-record results, output shape.

Stored form (the JSON `data` column): plain values; lookups, owners and the layout as id strings.
Output form: lookups `{"name","id"}`, users `{"name","id","email"}`, times in the org's offset.
"""

import json
import math
import re
from datetime import date

from .app import Sandbox, is_case_sensitive
from .errors import RecordError
from .schema import CURRENT_USER, MODULES, SYSTEM_FIELDS, USERS_BY_ID, layouts, parse_id
from .times import format_time, parse_time

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
MAX_WRITE = 100


# --- validation -------------------------------------------------------------------------------------------

def _invalid(field: dict, path: str, **extra) -> RecordError:
    details = {"api_name": field["api_name"], "json_path": path, "expected_data_type": field["data_type"], **extra}
    return RecordError("INVALID_DATA", "invalid data", details)


def _text(sandbox, field, value, path):
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(field, path)
    value = str(value)
    if len(value) > field["length"]:
        raise _invalid(field, path, maximum_length=field["length"])
    if field["data_type"] == "email" and not _EMAIL.match(value):
        raise _invalid(field, path)
    return value


def _integer(sandbox, field, value, path):
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or len(str(abs(value))) > field["length"]:
        raise _invalid(field, path)
    return value


def _number(sandbox, field, value, path):
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(field, path)
    try:
        number = float(value)
    except OverflowError:
        raise _invalid(field, path) from None
    if not math.isfinite(number):
        raise _invalid(field, path)
    return number


def _boolean(sandbox, field, value, path):
    if not isinstance(value, bool):
        raise _invalid(field, path)
    return value


def _date(sandbox, field, value, path):
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) and len(value) == 10 else _bad()
    except ValueError:
        raise _invalid(field, path) from None


def _datetime(sandbox, field, value, path):
    try:
        return parse_time(value) if isinstance(value, str) else _bad()
    except ValueError:
        raise _invalid(field, path) from None


def _picklist(sandbox, field, value, path):
    allowed = {item["display_value"] for item in field["pick_list_values"]}
    if not isinstance(value, str) or value not in allowed:
        raise _invalid(field, path)
    return None if value == "-None-" else value


def _multiselect(sandbox, field, value, path):
    allowed = {item["display_value"] for item in field["pick_list_values"]}
    if not isinstance(value, list) or not all(isinstance(item, str) and item in allowed for item in value):
        raise _invalid(field, path)
    return value


def _lookup(sandbox, field, value, path):
    number = parse_id(value.get("id") if isinstance(value, dict) else value)
    if number is None:
        raise _invalid(field, f"{path}.id")
    target_id = str(number)
    if field["data_type"] == "lookup":
        target = field["lookup"]["module"]["api_name"]
        if sandbox.store.get_record(target, number) is None:
            raise _invalid(field, f"{path}.id")
    elif target_id not in USERS_BY_ID:
        raise _invalid(field, f"{path}.id")
    return target_id


_COERCERS = {
    **dict.fromkeys(("text", "textarea", "email", "phone", "website"), _text),
    **dict.fromkeys(("integer", "bigint"), _integer),
    **dict.fromkeys(("double", "currency", "percent"), _number),
    "boolean": _boolean, "date": _date, "datetime": _datetime, "picklist": _picklist,
    "multiselectpicklist": _multiselect,
    **dict.fromkeys(("lookup", "ownerlookup", "userlookup"), _lookup),
}


def coerce(sandbox: Sandbox, field: dict, value, path: str):
    """A client's value -> the stored value, or RecordError(INVALID_DATA)."""
    data_type = field["data_type"]
    if value is None or (value == "" and data_type != "boolean"):
        return None
    coercer = _COERCERS.get(data_type)
    if coercer is None:
        raise _invalid(field, path)
    return coercer(sandbox, field, value, path)


def _bad():
    raise ValueError("wrong type")


def validate(sandbox: Sandbox, module: str, values: dict, index: int, current: dict | None) -> dict:
    """The stored values a write would set (only keys the client sent), or RecordError.

    `current` is the stored record for an update, None for an insert.
    """
    fields = sandbox.field_map(module)
    prefix = f"$.data[{index}]"
    changes = {}
    for key, value in values.items():
        if key == "id" or key in SYSTEM_FIELDS or key.startswith("$") or key in ("Tag", "Full_Name"):
            continue
        path = f"{prefix}.{key}"
        if key == "Layout":
            layout_id = value.get("id") if isinstance(value, dict) else value
            if str(layout_id) not in {layout["id"] for layout in layouts(module)}:
                raise RecordError("INVALID_DATA", "invalid data",
                                  {"api_name": "Layout", "json_path": f"{path}.id", "expected_data_type": "lookup"})
            changes["Layout"] = str(layout_id)
            continue
        field = fields.get(key)
        if field is None:
            raise RecordError("INVALID_DATA", "invalid data", {"api_name": key, "json_path": path})
        if field["read_only"]:
            continue
        changes[key] = coerce(sandbox, field, value, path)
    merged = {**(current or {}), **changes}
    for field in fields.values():
        if field["system_mandatory"] and merged.get(field["api_name"]) in (None, ""):
            # An update only fails on a mandatory field it tried to clear.
            if current is None or field["api_name"] in changes:
                raise RecordError("MANDATORY_NOT_FOUND", "required field not found",
                                  {"api_name": field["api_name"], "json_path": f"{prefix}.{field['api_name']}"})
    # A field that lives only in another layout is not part of this record: Zoho drops it.
    layout_id = merged.get("Layout") or layouts(module)[0]["id"]
    layout_name = next(layout["name"] for layout in layouts(module) if layout["id"] == layout_id)
    for key in list(changes):
        field = fields.get(key)
        if field and layout_name not in {layout["name"] for layout in field["layout_associations"]}:
            del changes[key]
    if module == "Contacts" and ({"First_Name", "Last_Name"} & changes.keys() or current is None):
        merged = {**(current or {}), **changes}
        changes["Full_Name"] = " ".join(filter(None, [merged.get("First_Name"), merged.get("Last_Name")]))
    return changes


def check_unique(sandbox: Sandbox, conn, module: str, record_id: int | None, data: dict, index: int) -> None:
    for field in sandbox.fields(module):
        if not field["unique"] or data.get(field["api_name"]) is None:
            continue
        other = sandbox.store.find_by_value(conn, module, field["api_name"], data[field["api_name"]],
                                            is_case_sensitive(field), record_id)
        if other is not None:
            owner = json.loads(conn.execute("SELECT data FROM records WHERE id = ?", (other,)).fetchone()[0])
            raise RecordError("DUPLICATE_DATA", "duplicate data", {
                "api_name": field["api_name"], "json_path": f"$.data[{index}].{field['api_name']}",
                "duplicate_record": {"id": str(other), "module": {"api_name": module, "id": MODULES[module]["id"]},
                                     "Owner": _user(owner.get("Owner"), with_email=False)},
            })


# --- writes -----------------------------------------------------------------------------------------------

def _success(action: str, row: dict, offset: int, upsert_field: str | None | bool = False) -> dict:
    message = {"insert": "record added", "update": "record updated"}[action]
    result = {
        "code": "SUCCESS",
        "details": {
            "Modified_Time": format_time(row["modified_time"], offset),
            "Modified_By": _user(row["data"].get("Modified_By"), with_email=False),
            "Created_Time": format_time(row["created_time"], offset),
            "id": str(row["id"]),
            "Created_By": _user(row["data"].get("Created_By"), with_email=False),
        },
        "message": message,
        "status": "success",
    }
    if upsert_field is not False:
        result["duplicate_field"] = upsert_field
        result["action"] = action
    return result


def insert_one(sandbox: Sandbox, conn, module: str, values: dict, index: int, user: dict) -> dict:
    changes = validate(sandbox, module, values, index, None)
    data = {"Owner": user["id"], "Layout": layouts(module)[0]["id"], **{k: v for k, v in changes.items()
                                                                        if v is not None}}
    data["Created_By"] = data["Modified_By"] = user["id"]
    check_unique(sandbox, conn, module, None, data, index)
    record_id = sandbox.store.allocate_ids(conn, 1)
    now = sandbox.now()
    conn.execute("INSERT INTO records(id, module, created_time, modified_time, data) VALUES (?, ?, ?, ?, ?)",
                 (record_id, module, now, now, json.dumps(data)))
    sandbox.store.record_event(module, "insert", record_id)
    return {"id": record_id, "created_time": now, "modified_time": now, "data": data}


def update_one(sandbox: Sandbox, conn, module: str, record_id: int, values: dict, index: int, user: dict) -> dict:
    row = conn.execute("SELECT * FROM records WHERE module = ? AND id = ?", (module, record_id)).fetchone()
    if row is None:
        raise RecordError("INVALID_DATA", "the id given seems to be invalid",
                          {"api_name": "id", "json_path": f"$.data[{index}].id"})
    current = json.loads(row["data"])
    changes = validate(sandbox, module, values, index, current)
    data = {k: v for k, v in {**current, **changes}.items() if v is not None}
    data["Modified_By"] = user["id"]
    check_unique(sandbox, conn, module, record_id, data, index)
    # Like Zoho, every successful update moves Modified_Time, even when no value changed.
    now = sandbox.now()
    conn.execute("UPDATE records SET modified_time = ?, data = ? WHERE id = ?", (now, json.dumps(data), record_id))
    sandbox.store.record_event(module, "update", record_id)
    return {"id": record_id, "created_time": row["created_time"], "modified_time": now, "data": data}


def delete_one(sandbox: Sandbox, conn, module: str, record_id: int, user: dict, kind: str = "recycle") -> bool:
    row = conn.execute("SELECT * FROM records WHERE module = ? AND id = ?", (module, record_id)).fetchone()
    if row is None:
        return False
    data = json.loads(row["data"])
    conn.execute("DELETE FROM records WHERE id = ?", (record_id,))
    conn.execute(
        "INSERT OR REPLACE INTO deleted(id, module, display_name, type, deleted_by, created_by, deleted_time) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (record_id, module, data.get(MODULES[module]["name_field"]), kind, user["id"], data.get("Created_By"),
         sandbox.now()),
    )
    sandbox.store.record_event(module, "delete", record_id)
    return True


def run_writes(sandbox: Sandbox, items: list, write) -> list[dict]:
    """Apply `write(conn, index, item) -> result` to each item in one transaction; a failed item writes
    nothing (its savepoint is rolled back) and the others still commit."""
    results = []
    with sandbox.store.transaction() as conn:
        for index, item in enumerate(items):
            conn.execute("SAVEPOINT item")
            announced = len(sandbox.store.events or [])
            try:
                if not isinstance(item, dict):
                    raise RecordError("INVALID_DATA", "invalid data", {"json_path": f"$.data[{index}]"})
                results.append(write(conn, index, item))
                conn.execute("RELEASE item")
            except RecordError as error:
                conn.execute("ROLLBACK TO item")
                conn.execute("RELEASE item")
                if sandbox.store.events is not None:
                    del sandbox.store.events[announced:]  # what the item changed is undone: nothing to announce
                results.append(error.body())
    return results


def write_status(results: list[dict], all_ok: int) -> int:
    """201/200 when every item succeeded, 207 when mixed, 400 when all failed."""
    ok = sum(1 for result in results if result["status"] == "success")
    if ok == len(results):
        return all_ok
    return 207 if ok else 400


def insert(sandbox: Sandbox, module: str, items: list, user: dict = CURRENT_USER) -> list[dict]:
    offset = sandbox.offset
    return run_writes(sandbox, items, lambda conn, index, item: _success(
        "insert", insert_one(sandbox, conn, module, item, index, user), offset))


def update(sandbox: Sandbox, module: str, items: list, path_id: int | None = None,
           user: dict = CURRENT_USER) -> list[dict]:
    offset = sandbox.offset

    def write(conn, index, item):
        record_id = path_id if path_id is not None else item.get("id")
        if record_id is None:
            raise RecordError("MANDATORY_NOT_FOUND", "required field not found",
                              {"api_name": "id", "json_path": f"$.data[{index}].id"})
        number = parse_id(record_id)
        if number is None:
            raise RecordError("INVALID_DATA", "the id given seems to be invalid",
                              {"api_name": "id", "json_path": f"$.data[{index}].id"})
        return _success("update", update_one(sandbox, conn, module, number, item, index, user), offset)

    return run_writes(sandbox, items, write)


def duplicate_check_fields(sandbox: Sandbox, module: str, requested) -> list[str]:
    """The fields an upsert matches on, in order: as requested, or the system field then unique fields."""
    fields = sandbox.field_map(module)
    unique = [field["api_name"] for field in fields.values() if field["unique"]]
    if requested is None:
        return [MODULES[module]["dup"], *unique]
    allowed = {MODULES[module]["dup"], "id", *unique}
    if not isinstance(requested, list) or not requested:
        raise RecordError("INVALID_DATA", "invalid data", {"api_name": "duplicate_check_fields"})
    for name in requested:
        if name not in allowed:
            raise RecordError("INVALID_DATA", "the field given in duplicate_check_fields is not unique",
                              {"api_name": name, "json_path": "$.duplicate_check_fields"})
    return list(requested)


def upsert(sandbox: Sandbox, module: str, items: list, check_fields: list[str],
           user: dict = CURRENT_USER) -> list[dict]:
    offset = sandbox.offset
    fields = sandbox.field_map(module)

    def write(conn, index, item):
        for name in check_fields:
            value = item.get(name)
            if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
                # Nothing usable to match on; the insert below reports a bad value if there is one.
                continue
            if name == "id":
                number = parse_id(value)
                found = number if number is not None and sandbox.store.get_record(module, number) else None
            else:
                sensitive = bool(fields[name]["unique"]) and is_case_sensitive(fields[name])
                found = sandbox.store.find_by_value(conn, module, name, value, sensitive)
            if found is not None:
                row = update_one(sandbox, conn, module, found, item, index, user)
                return _success("update", row, offset, name)
        return _success("insert", insert_one(sandbox, conn, module, item, index, user), offset, None)

    return run_writes(sandbox, items, write)


def delete(sandbox: Sandbox, module: str, ids: list[str], user: dict = CURRENT_USER) -> list[dict]:
    def write(conn, index, record_id):
        number = parse_id(record_id)
        if number is None or not delete_one(sandbox, conn, module, number, user):
            raise RecordError("INVALID_DATA", "the id given seems to be invalid", {"id": str(record_id)})
        return {"code": "SUCCESS", "details": {"id": str(record_id)}, "message": "record deleted",
                "status": "success"}

    return run_writes(sandbox, [{"id": record_id} for record_id in ids],
                      lambda conn, index, item: write(conn, index, item["id"]))


# --- output -----------------------------------------------------------------------------------------------

def _user(user_id, with_email: bool = True) -> dict | None:
    user = USERS_BY_ID.get(user_id)
    if user is None:
        return None
    shown = {"name": user["full_name"], "id": user["id"]}
    if with_email:
        shown["email"] = user["email"]
    return shown


def present(sandbox: Sandbox, module: str, rows: list, wanted: list[str] | None) -> list[dict]:
    """Stored rows -> Zoho's record JSON, with only `wanted` fields (plus id) when given."""
    fields = sandbox.fields(module)
    if wanted is not None:
        by_name = {field["api_name"]: field for field in fields}
        fields = [by_name[name] for name in wanted if name in by_name]
    show_layout = wanted is None or "Layout" in wanted
    decoded = [(row, row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])) for row in rows]
    lookup_ids = {int(data[field["api_name"]]) for _, data in decoded for field in fields
                  if field["data_type"] == "lookup" and data.get(field["api_name"])}
    targets = sandbox.store.names_of(lookup_ids)
    offset = sandbox.offset
    layout_names = {layout["id"]: layout["name"] for layout in layouts(module)}
    output = []
    for row, data in decoded:
        record = {}
        for field in fields:
            name = field["api_name"]
            if name == "Created_Time":
                record[name] = format_time(row["created_time"], offset)
            elif name == "Modified_Time":
                record[name] = format_time(row["modified_time"], offset)
            elif field["data_type"] == "ownerlookup":
                record[name] = _user(data.get(name))
            elif field["data_type"] == "userlookup":
                record[name] = _user(data.get(name), with_email=False)
            elif field["data_type"] == "lookup":
                record[name] = _lookup(targets, data.get(name))
            elif field["data_type"] == "datetime":
                record[name] = format_time(data[name], offset) if data.get(name) is not None else None
            else:
                record[name] = data.get(name)
        if show_layout:
            layout_id = data.get("Layout") or layouts(module)[0]["id"]
            record["Layout"] = {"name": layout_names[layout_id], "id": layout_id}
        record["id"] = str(row["id"])
        output.append(record)
    return output


def _lookup(targets: dict, target_id) -> dict | None:
    target = targets.get(int(target_id)) if target_id else None
    if target is None:
        return None
    name_field = MODULES[target["module"]]["name_field"]
    return {"name": target["data"].get(name_field), "id": str(target_id)}
