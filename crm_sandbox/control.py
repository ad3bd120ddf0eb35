"""The /__sandbox__/ endpoints: knobs, counters, resets, and edits "as a CRM user would" make them.

No authentication, JSON in and out, never subject to injected faults or the rate limit.
"""

import re

from . import records
from .api import json_body, module_of
from .app import Reply, Sandbox
from .errors import ApiError
from .oauth import expire_access_tokens, issue_refresh_token
from .schema import CREATABLE_TYPES, CURRENT_USER, USERS, parse_id


def health(sandbox: Sandbox, request) -> Reply:
    return Reply(200, {"status": "ok"})


def config(sandbox: Sandbox, request) -> Reply:
    if request.method == "GET":
        return Reply(200, dict(sandbox.config))
    try:
        return Reply(200, sandbox.configure(json_body(request)))
    except ValueError as error:
        raise ApiError(400, "INVALID_DATA", str(error)) from None


def expire_tokens(sandbox: Sandbox, request) -> Reply:
    return Reply(200, {"expired": expire_access_tokens(sandbox)})


def refresh_tokens(sandbox: Sandbox, request) -> Reply:
    return Reply(201, {"refresh_token": issue_refresh_token(sandbox)})


def expire_page_tokens(sandbox: Sandbox, request) -> Reply:
    """Every page_token handed out so far expires now (as a day-old one does): the next page asked for
    with one is refused with EXPIRED_VALUE."""
    with sandbox.lock:
        for state in sandbox.page_tokens.values():
            state["expires_at"] = sandbox.now() - 1
        count = len(sandbox.page_tokens)
    return Reply(200, {"expired": count})


def calls(sandbox: Sandbox, request) -> Reply:
    with sandbox.lock:
        counted = dict(sandbox.calls)
        faults = dict(sandbox.faults)
    return Reply(200, {"calls": counted, "faults": faults, "total": sum(counted.values())})


def notifications(sandbox: Sandbox, request) -> Reply:
    """Callbacks sent, dropped, sent twice and failed since the start (or the last reset), and the channels."""
    notifier = sandbox.notifier
    with notifier.lock:
        counts = dict(notifier.counts)
        channels = len(notifier.channels)
    return Reply(200, {"counts": {k: counts.get(k, 0) for k in ("sent", "dropped", "duplicated", "failed")},
                       "channels": channels})


def reset_calls(sandbox: Sandbox, request) -> Reply:
    with sandbox.lock:
        sandbox.reset_calls()
    return Reply(200, {"status": "success"})


def reset(sandbox: Sandbox, request) -> Reply:
    sandbox.reset()
    return Reply(200, {"status": "success", "config": sandbox.config})


_LICENSE_KEYS = {"paid", "paid_type", "paid_expiry", "users_license_purchased", "trial_type", "trial_expiry",
                 "trial_action"}


def org(sandbox: Sandbox, request) -> Reply:
    current = sandbox.store.get_meta("org")
    currencies = sandbox.store.get_meta("currencies")
    if request.method == "PATCH":
        changes = json_body(request)
        for key, value in changes.items():
            if key in ("edition", *_LICENSE_KEYS):
                current["license_details"]["paid_type" if key == "edition" else key] = value
            elif key == "license_details" and isinstance(value, dict):
                current["license_details"].update(value)
            elif key == "currencies" and isinstance(value, list):
                currencies = value
            elif key in current and key not in ("id", "zgid"):
                current[key] = value
            else:
                raise ApiError(400, "INVALID_DATA", f"unknown or read-only org key {key!r}", {"api_name": key})
        with sandbox.store.transaction() as conn:
            sandbox.store.set_meta("org", current, conn)
            sandbox.store.set_meta("currencies", currencies, conn)
    return Reply(200, {"org": current, "currencies": currencies})


def _acting_user(values: dict) -> dict:
    """`"$user"` names who makes the change (id or email); the default is the org's administrator."""
    wanted = values.pop("$user", None)
    if wanted is None:
        return CURRENT_USER
    for user in USERS:
        if wanted in (user["id"], user["email"]):
            return user
    raise ApiError(400, "INVALID_DATA", "unknown $user", {"api_name": "$user"})


def _one(results: list[dict]) -> None:
    if results[0]["status"] != "success":
        raise ApiError(400, results[0]["code"], results[0]["message"], results[0]["details"])


def record_create(sandbox: Sandbox, request, module: str) -> Reply:
    module = module_of(module)
    values = json_body(request)
    results = records.insert(sandbox, module, [values], user=_acting_user(values))
    _one(results)
    return _show(sandbox, module, results[0]["details"]["id"], 201)


def record_edit(sandbox: Sandbox, request, module: str, record_id: str) -> Reply:
    module = module_of(module)
    if request.method == "GET":
        return _show(sandbox, module, record_id, 200)
    if request.method == "DELETE":
        kind = "permanent" if request.query.get("permanent") == "true" else "recycle"
        with sandbox.store.transaction() as conn:
            number = parse_id(record_id)
            found = number is not None and records.delete_one(sandbox, conn, module, number, CURRENT_USER, kind)
        if not found:
            raise ApiError(404, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
        return Reply(200, {"deleted": record_id, "type": kind})
    values = json_body(request)
    if parse_id(record_id) is None:
        raise ApiError(404, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
    results = records.update(sandbox, module, [values], path_id=parse_id(record_id), user=_acting_user(values))
    _one(results)
    return _show(sandbox, module, record_id, 200)


def _show(sandbox: Sandbox, module: str, record_id: str, status: int) -> Reply:
    number = parse_id(record_id)
    row = sandbox.store.get_record(module, number) if number is not None else None
    if row is None:
        raise ApiError(404, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
    return Reply(status, {"data": records.present(sandbox, module, [row], None)[0]})


def bulk(sandbox: Sandbox, request, module: str) -> Reply:
    """Many changes at once, without the API's 100-record cap:
    {"create": [...], "update": [{"id": ..., ...}], "delete": [ids], "touch": N | "all"}."""
    module = module_of(module)
    body = json_body(request)
    user = _acting_user(body)
    result = {"created": [], "updated": 0, "deleted": 0, "touched": 0, "errors": []}
    for key in ("create", "update", "delete"):
        if not isinstance(body.get(key, []), list):
            raise ApiError(400, "INVALID_DATA", f"{key} must be a list", {"api_name": key})
    created = records.insert(sandbox, module, body.get("create", []), user=user)
    result["created"] = [item["details"]["id"] for item in created if item["status"] == "success"]
    result["errors"] += [{"create": index, **item} for index, item in enumerate(created) if item["status"] != "success"]
    updated = records.update(sandbox, module, body.get("update", []), user=user)
    result["updated"] = sum(1 for item in updated if item["status"] == "success")
    result["errors"] += [{"update": index, **item} for index, item in enumerate(updated) if item["status"] != "success"]
    deleted = records.delete(sandbox, module, [str(item) for item in body.get("delete", [])], user=user)
    result["deleted"] = sum(1 for item in deleted if item["status"] == "success")
    result["errors"] += [{"delete": index, **item} for index, item in enumerate(deleted) if item["status"] != "success"]
    touch = body.get("touch")
    if touch is not None:
        if touch != "all" and (isinstance(touch, bool) or not isinstance(touch, int) or touch < 0):
            raise ApiError(400, "INVALID_DATA", 'touch must be a count or "all"', {"api_name": "touch"})
        limit = -1 if touch == "all" else touch
        with sandbox.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE records SET modified_time = ?, data = json_set(data, '$.Modified_By', ?) "
                "WHERE id IN (SELECT id FROM records WHERE module = ? ORDER BY id LIMIT ?)",
                (sandbox.now(), user["id"], module, limit),
            )
            result["touched"] = cursor.rowcount
    return Reply(200, result)


def field_rename(sandbox: Sandbox, request, module: str, api_name: str) -> Reply:
    """Change a field as an administrator would in the CRM's setup: its label (`field_label`; the API name
    stays), or for a custom field its API name (`api_name`) or type (`data_type`); DELETE removes a custom
    field and its values."""
    module = module_of(module)
    if request.method == "DELETE":
        try:
            sandbox.delete_field(module, api_name)
        except (KeyError, ValueError):
            raise ApiError(400, "INVALID_DATA", f"no custom field {api_name!r} in {module}", {"api_name": api_name}) from None
        return Reply(200, {"deleted": api_name})
    body = json_body(request)
    label, new_name, data_type = body.get("field_label"), body.get("api_name"), body.get("data_type")
    if label is not None and (not isinstance(label, str) or not label.strip() or len(label) > 50):
        raise ApiError(400, "INVALID_DATA", "field_label must be a text of 1 to 50 characters",
                       {"api_name": "field_label"})
    if new_name is not None and (not isinstance(new_name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,49}", new_name)):
        raise ApiError(400, "INVALID_DATA", "api_name must be letters, digits and _", {"api_name": "api_name"})
    if data_type is not None and data_type not in CREATABLE_TYPES:
        raise ApiError(400, "INVALID_DATA", "data_type is not one a field can have", {"api_name": "data_type"})
    if label is None and new_name is None and data_type is None:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "field_label, api_name or data_type", {"api_name": "field_label"})
    try:
        field = None
        if new_name or data_type:
            field = sandbox.change_field(module, api_name, new_api_name=new_name, data_type=data_type)
            api_name = field["api_name"]
        if label is not None:
            field = sandbox.rename_field(module, api_name, label.strip())
    except KeyError:
        raise ApiError(400, "INVALID_DATA", f"no field {api_name!r} in {module}", {"api_name": api_name}) from None
    except ValueError:
        raise ApiError(400, "INVALID_DATA", f"{api_name!r} is a standard field: only its label can change",
                       {"api_name": api_name}) from None
    return Reply(200, {"field": field})
