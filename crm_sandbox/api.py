"""Handlers for the Zoho CRM REST paths under /crm/{version}/ (org, users, metadata and records) and
/crm/bulk/{version}/read (Bulk Read).

Each handler takes (sandbox, request, **path parts) and returns a Reply or raises ApiError.
"""

import json

from . import listing, records
from .app import Reply, Sandbox
from .errors import ApiError, RecordError, invalid_module, invalid_param, required_param
from .schema import (
    CREATABLE_TYPES,
    CURRENT_USER,
    DEFAULT_LENGTHS,
    MODULES,
    USERS,
    api_name_from_label,
    build_field,
    custom_views,
    layouts,
    parse_id,
)
from .times import format_time
from .watch import parse_watch_items

MAX_NEW_FIELDS = 5
_USERS_CREATED = 1673359200  # 2023-01-10: when the demo org's users joined


def json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "INVALID_DATA", "the request body is not valid JSON", {}) from None
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_DATA", "the request body must be a JSON object", {})
    return body


def module_of(name: str) -> str:
    if name not in MODULES:
        raise invalid_module(name)
    return name


def _module_param(request) -> str:
    name = request.query.get("module")
    if not name:
        raise required_param("module")
    if name not in MODULES:
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"param_name": "module"})
    return name


def _record_id(text: str) -> int:
    number = parse_id(text)
    if number is None:
        raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": text})
    return number


# --- org and users ----------------------------------------------------------------------------------------

def get_org(sandbox: Sandbox, request) -> Reply:
    return Reply(200, {"org": [sandbox.store.get_meta("org")]})


def get_currencies(sandbox: Sandbox, request) -> Reply:
    # Without multi-currency the org has no currency list to show.
    if not sandbox.store.get_meta("org")["mc_status"]:
        return Reply(204)
    return Reply(200, {"currencies": sandbox.store.get_meta("currencies")})


def _user_json(sandbox: Sandbox, user: dict) -> dict:
    stamp = format_time(_USERS_CREATED, sandbox.offset)
    return {
        **user, "status": "active", "confirm": True, "time_zone": "America/New_York", "locale": "en_US",
        "language": "en_US", "country_locale": "en_US", "country": "US", "date_format": "MM-dd-yyyy",
        "time_format": "hh:mm a", "Isonline": False, "status_reason__s": None,
        "Created_Time": stamp, "Modified_Time": stamp,
        "created_by": {"name": CURRENT_USER["full_name"], "id": CURRENT_USER["id"]},
        "Modified_By": {"name": CURRENT_USER["full_name"], "id": CURRENT_USER["id"]},
    }


_USER_TYPES = {
    "AllUsers": USERS, "ActiveUsers": USERS, "ConfirmedUsers": USERS, "ActiveConfirmedUsers": USERS,
    "AdminUsers": [CURRENT_USER], "ActiveConfirmedAdmins": [CURRENT_USER], "CurrentUser": [CURRENT_USER],
    "DeactiveUsers": [], "NotConfirmedUsers": [], "DeletedUsers": [],
}


def get_users(sandbox: Sandbox, request, user_id: str | None = None) -> Reply:
    if user_id is not None:
        found = [user for user in USERS if user["id"] == user_id]
        if not found:
            raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": user_id})
        return Reply(200, {"users": [_user_json(sandbox, found[0])]})
    kind = request.query.get("type", "AllUsers")
    if kind not in _USER_TYPES:
        raise invalid_param("type")
    users = _USER_TYPES[kind]
    if request.query.get("ids"):
        wanted = set(request.query["ids"].split(","))
        users = [user for user in users if user["id"] in wanted]
    per_page = min(parse_id(request.query.get("per_page", "200")) or 200, 200)
    page = min(parse_id(request.query.get("page", "1")) or 1, 10**6)
    start = (max(page, 1) - 1) * max(per_page, 1)
    chunk = users[start:start + per_page]
    if not chunk:
        return Reply(204)
    return Reply(200, {"users": [_user_json(sandbox, user) for user in chunk],
                       "info": {"per_page": per_page, "count": len(chunk), "page": page,
                                "more_records": start + per_page < len(users)}})


# --- metadata ---------------------------------------------------------------------------------------------

def _module_json(sandbox: Sandbox, name: str) -> dict:
    info = MODULES[name]
    return {
        "id": info["id"], "api_name": name, "module_name": name, "singular_label": info["singular"],
        "plural_label": name, "api_supported": True, "generated_type": "default", "creatable": True,
        "editable": True, "deletable": True, "viewable": True, "visible": True, "status": "visible",
        "convertable": False, "quick_create": True, "global_search_supported": True, "feeds_required": False,
        "show_as_tab": True, "web_link": None, "sequence_number": list(MODULES).index(name) + 2,
        "modified_time": None, "modified_by": None,
        "profiles": [{"name": "Administrator", "id": CURRENT_USER["profile"]["id"]}],
    }


def get_modules(sandbox: Sandbox, request, name: str | None = None) -> Reply:
    if name is not None:
        return Reply(200, {"modules": [_module_json(sandbox, module_of(name))]})
    return Reply(200, {"modules": [_module_json(sandbox, module) for module in MODULES]})


def get_fields(sandbox: Sandbox, request, field_id: str | None = None) -> Reply:
    module = _module_param(request)
    fields = sandbox.fields(module)
    if field_id is not None:
        found = [field for field in fields if field["id"] == field_id]
        if not found:
            raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": field_id})
        return Reply(200, {"fields": found})
    layout_id = request.query.get("layout_id")
    if layout_id:
        if layout_id not in {layout["id"] for layout in layouts(module)}:
            raise invalid_param("layout_id")
        fields = [field for field in fields
                  if layout_id in {layout["id"] for layout in field["layout_associations"]}]
    return Reply(200, {"fields": fields})


def create_fields(sandbox: Sandbox, request) -> Reply:
    module = _module_param(request)
    items = json_body(request).get("fields")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "fields", "json_path": "$.fields"})
    if len(items) > MAX_NEW_FIELDS:
        raise ApiError(400, "LIMIT_EXCEEDED", f"at most {MAX_NEW_FIELDS} fields can be created per call",
                       {"api_name": "fields", "limit": MAX_NEW_FIELDS})
    results = []
    for index, item in enumerate(items):
        try:
            new_id = _create_field(sandbox, module, item, index)
            results.append({"code": "SUCCESS", "details": {"id": str(new_id)}, "message": "field created",
                            "status": "success"})
        except RecordError as error:
            results.append(error.body())
    sandbox.forget_fields(module)
    sandbox.store.ensure_indexes(sandbox.unique_fields())
    return Reply(records.write_status(results, 201), {"fields": results})


def _create_field(sandbox: Sandbox, module: str, item, index: int) -> int:
    path = f"$.fields[{index}]"
    if not isinstance(item, dict):
        raise RecordError("INVALID_DATA", "invalid data", {"json_path": path})
    label, data_type = item.get("field_label"), item.get("data_type")
    for key, value in (("field_label", label), ("data_type", data_type)):
        if not isinstance(value, str) or not value.strip():
            raise RecordError("MANDATORY_NOT_FOUND", "required field not found",
                              {"api_name": key, "json_path": f"{path}.{key}"})
    if data_type not in CREATABLE_TYPES:
        raise RecordError("INVALID_DATA", "invalid data", {"api_name": "data_type", "json_path": f"{path}.data_type"})
    api_name = api_name_from_label(label)
    if not api_name or not api_name[0].isalpha() or len(label) > 50:
        raise RecordError("INVALID_DATA", "invalid data", {"api_name": "field_label", "json_path": f"{path}.field_label"})
    existing = sandbox.field_map(module)
    labels = {field["field_label"].lower() for field in existing.values()}
    if api_name in existing or label.strip().lower() in labels:
        raise RecordError("DUPLICATE_DATA", "duplicate data",
                          {"api_name": "field_label", "json_path": f"{path}.field_label"})
    extras = {"custom": True}
    maximum = 255 if data_type == "text" else DEFAULT_LENGTHS[data_type]
    length = item.get("length", maximum)
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= maximum:
        raise RecordError("INVALID_DATA", "invalid data", {"api_name": "length", "json_path": f"{path}.length"})
    extras["length"] = length
    if data_type in ("picklist", "multiselectpicklist"):
        values = item.get("pick_list_values")
        if not isinstance(values, list) or not values or not all(
                isinstance(value, dict) and isinstance(value.get("display_value"), str) for value in values):
            raise RecordError("MANDATORY_NOT_FOUND", "required field not found",
                              {"api_name": "pick_list_values", "json_path": f"{path}.pick_list_values"})
        extras["values"] = [value["display_value"] for value in values]
    unique = item.get("unique")
    if unique:
        if not isinstance(unique, dict) or data_type not in ("text", "email", "phone", "integer", "website"):
            raise RecordError("INVALID_DATA", "invalid data", {"api_name": "unique", "json_path": f"{path}.unique"})
        extras["unique"] = {"casesensitive": "true" if str(unique.get("casesensitive")).lower() == "true" else "false"}
    with sandbox.store.transaction() as conn:
        field_id = sandbox.store.allocate_ids(conn, 1)
        definition = build_field(module, field_id, api_name, label.strip(), data_type, extras)
        conn.execute("INSERT INTO custom_fields(id, module, api_name, definition) VALUES (?, ?, ?, ?)",
                     (field_id, module, api_name, json.dumps(definition)))
    sandbox.forget_fields(module)
    return field_id


def get_layouts(sandbox: Sandbox, request, layout_id: str | None = None) -> Reply:
    module = _module_param(request)
    fields = sandbox.fields(module)
    result = []
    for layout in layouts(module):
        if layout_id is not None and layout["id"] != layout_id:
            continue
        mine = [field for field in fields if layout["id"] in {item["id"] for item in field["layout_associations"]}]
        result.append({
            **layout, "display_label": layout["name"], "status": "active", "visible": True,
            "generated_type": "default" if layout["name"] == "Standard" else "custom",
            "created_time": None, "modified_time": None, "created_by": None, "modified_by": None,
            "profiles": [{"id": CURRENT_USER["profile"]["id"], "name": "Administrator",
                          "default": layout["name"] == "Standard"}],
            "sections": [{"display_label": f"{MODULES[module]['singular']} Information", "sequence_number": 1,
                          "column_count": 2, "api_name": f"{MODULES[module]['singular']} Information",
                          "name": f"{MODULES[module]['singular']} Information", "fields": mine}],
        })
    if layout_id is not None and not result:
        raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": layout_id})
    return Reply(200, {"layouts": result})


def get_custom_views(sandbox: Sandbox, request, view_id: str | None = None) -> Reply:
    module = _module_param(request)
    views = custom_views(module)
    if view_id is None:
        listed = [{key: value for key, value in view.items() if key != "criteria"} for view in views]
        translation = {"public_views": "Public Views", "other_users_views": "Other Users' Views",
                       "shared_with_me": "Shared With Me", "created_by_me": "Created By Me"}
        return Reply(200, {"custom_views": listed, "info": {
            "per_page": 200, "count": len(listed), "page": 1, "more_records": False,
            "default": views[0]["id"], "translation": translation}})
    view = next((view for view in views if view["id"] == view_id), None)
    if view is None:
        raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": view_id})
    fields = sandbox.field_map(module)
    shown = [name for name in (MODULES[module]["name_field"], "Email", "Phone", "Owner") if name in fields]
    return Reply(200, {"custom_views": [{
        **view,
        "criteria": _with_field_ids(view["criteria"], fields),
        "fields": [{"api_name": name, "id": fields[name]["id"]} for name in shown],
        "module": {"api_name": module, "id": MODULES[module]["id"]},
        "created_by": {"name": CURRENT_USER["full_name"], "id": CURRENT_USER["id"]},
    }]})


def _with_field_ids(criteria: dict | None, fields: dict) -> dict | None:
    if not criteria:
        return None
    if "group" in criteria:
        return {**criteria, "group": [_with_field_ids(item, fields) for item in criteria["group"]]}
    name = criteria["field"]["api_name"]
    return {**criteria, "field": {"api_name": name, "id": fields[name]["id"]}}


# --- records ----------------------------------------------------------------------------------------------

def list_or_write(sandbox: Sandbox, request, module: str) -> Reply:
    module = module_of(module)
    if request.method == "GET":
        return listing.list_records(sandbox, module, request.query, request.headers, request.version)
    if request.method == "DELETE":
        return _delete(sandbox, module, request.query.get("ids"))
    items = _write_items(request)
    if request.method == "POST":
        results = records.insert(sandbox, module, items)
        return Reply(records.write_status(results, 201), {"data": results})
    results = records.update(sandbox, module, items)
    return Reply(records.write_status(results, 200), {"data": results})


def one_record(sandbox: Sandbox, request, module: str, record_id: str) -> Reply:
    module = module_of(module)
    number = _record_id(record_id)
    if request.method == "GET":
        wanted = listing.wanted_fields(sandbox, module, request.query, required=False)
        row = sandbox.store.get_record(module, number)
        if row is None:
            raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
        return Reply(200, {"data": records.present(sandbox, module, [row], wanted)})
    if request.method == "DELETE":
        return _delete(sandbox, module, record_id)
    items = _write_items(request)
    if len(items) != 1:
        raise ApiError(400, "LIMIT_EXCEEDED", "only one record can be updated through the record's own URL",
                       {"api_name": "data", "limit": 1})
    results = records.update(sandbox, module, items, path_id=number)
    return Reply(records.write_status(results, 200), {"data": results})


def upsert(sandbox: Sandbox, request, module: str) -> Reply:
    module = module_of(module)
    body = json_body(request)
    items = _write_items(request, body)
    try:
        check_fields = records.duplicate_check_fields(sandbox, module, body.get("duplicate_check_fields"))
    except RecordError as error:
        raise ApiError(400, error.code, error.message, error.details) from None
    results = records.upsert(sandbox, module, items, check_fields)
    return Reply(records.write_status(results, 200), {"data": results})


def _write_items(request, body: dict | None = None) -> list:
    body = json_body(request) if body is None else body
    items = body.get("data")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "data", "json_path": "$.data"})
    if len(items) > records.MAX_WRITE:
        raise ApiError(400, "LIMIT_EXCEEDED", f"at most {records.MAX_WRITE} records can be written per call",
                       {"api_name": "data", "limit": records.MAX_WRITE, "json_path": "$.data"})
    return items


def _delete(sandbox: Sandbox, module: str, ids_text: str | None) -> Reply:
    if not ids_text:
        raise required_param("ids")
    ids = [part.strip() for part in ids_text.split(",") if part.strip()]
    if len(ids) > records.MAX_WRITE:
        raise ApiError(400, "LIMIT_EXCEEDED", f"at most {records.MAX_WRITE} records can be deleted per call",
                       {"param_name": "ids", "limit": records.MAX_WRITE})
    results = records.delete(sandbox, module, ids)
    return Reply(records.write_status(results, 200), {"data": results})


def get_deleted(sandbox: Sandbox, request, module: str) -> Reply:
    return listing.deleted(sandbox, module_of(module), request.query, request.headers)


def search(sandbox: Sandbox, request, module: str) -> Reply:
    return listing.search(sandbox, module_of(module), request.query, request.version)


def count(sandbox: Sandbox, request, module: str) -> Reply:
    return listing.count(sandbox, module_of(module), request.query)


def watch(sandbox: Sandbox, request) -> Reply:
    """/actions/watch: subscribe (POST), replace (PUT), update or renew (PATCH), list (GET), remove (DELETE)."""
    notifier, base = sandbox.notifier, request.base_url
    if request.method == "GET":
        page = notifier.listing(base, request.query.get("channel_id"), request.query.get("module"))
        if not page:
            return Reply(204)
        return Reply(200, {"watch": page, "info": {"per_page": 200, "count": len(page), "page": 1,
                                                   "more_records": False}})
    if request.method == "DELETE":
        ids = [part.strip() for part in (request.query.get("channel_ids") or "").split(",") if part.strip()]
        if not ids:
            raise required_param("channel_ids")
        results = notifier.unsubscribe(ids, base)
    else:
        items = parse_watch_items(json_body(request))
        if request.method == "PATCH":
            results = notifier.update(items, base)
        else:
            results = notifier.subscribe(items, base, replace=request.method == "PUT")
    ok = all(result["status"] == "success" for result in results)
    created = request.method == "POST"
    return Reply((201 if created else 200) if ok else 202, {"watch": results})


# --- bulk read --------------------------------------------------------------------------------------------

def bulk_read_create(sandbox: Sandbox, request) -> Reply:
    details = sandbox.bulk_reads.create(json_body(request), request.version)
    shown = {key: details[key] for key in ("id", "operation", "state", "created_by", "created_time")}
    return Reply(201, {"data": [{"status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
                                 "details": shown}], "info": {}})


def bulk_read_job(sandbox: Sandbox, request, job_id: str) -> Reply:
    return Reply(200, {"data": [sandbox.bulk_reads.details(job_id)]})


def bulk_read_result(sandbox: Sandbox, request, job_id: str) -> Reply:
    result = sandbox.bulk_reads.open_result(job_id)
    return Reply(200, result, {"Content-Type": "application/zip",
                               "Content-Disposition": f'attachment; filename="{job_id}.zip"'})
