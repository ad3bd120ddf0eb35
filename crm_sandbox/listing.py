"""Reading many records: GET /{module} with page and page_token paging, search, count, deleted records.

page_token is keyset-based: the server keeps (sort key of the last record served, records served so far)
under a random token, so page 400 of a chain costs what page 1 costs.
"""

import hashlib
import json

from . import criteria
from .app import PAGE_TOKEN_LIFETIME, Reply, Sandbox
from .errors import ApiError, ambiguity, invalid_param, required_param
from .records import present
from .schema import USERS_BY_ID, parse_id
from .times import format_time, parse_time

MAX_FIELDS = 50
MAX_PER_PAGE = 200
MAX_IDS = 100
SORT_COLUMNS = {"id": "id", "Created_Time": "created_time", "Modified_Time": "modified_time"}


def _int_param(query: dict, name: str, default: int, maximum: int | None = None) -> int:
    text = query.get(name)
    if text is None:
        return default
    number = parse_id(text)
    if number is None or not 1 <= number <= 10**9:
        raise invalid_param(name)
    if maximum is not None and number > maximum:
        raise invalid_param(name, f"the {name} exceeds the maximum of {maximum}", maximum=maximum)
    return number


def wanted_fields(sandbox: Sandbox, module: str, query: dict, required: bool) -> list[str] | None:
    text = query.get("fields")
    if text is None or not text.strip():
        if required:
            raise required_param("fields")
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if len(names) > MAX_FIELDS:
        raise ApiError(400, "LIMIT_EXCEEDED", f"the fields count exceeds the maximum of {MAX_FIELDS}",
                       {"param_name": "fields", "limit": MAX_FIELDS})
    known = sandbox.field_map(module)
    for name in names:
        if name not in known and name not in ("id", "Layout"):
            raise invalid_param("fields", "the field given seems to be invalid", api_name=name)
    return names


def _since(headers) -> int | None:
    text = headers.get("If-Modified-Since")
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise ApiError(400, "INVALID_DATA", "invalid If-Modified-Since header value",
                       {"header_name": "If-Modified-Since"}) from None


def _view_filter(sandbox: Sandbox, module: str, cvid: str) -> tuple[str, list]:
    return criteria.view_filter(module, cvid, sandbox.field_map(module))


def _listing_params(sandbox: Sandbox, module: str, query: dict, modern: bool):
    """(fields wanted, per_page, page_token, sort_by, sort_order) of a listing, or the API's error."""
    wanted = wanted_fields(sandbox, module, query, required=modern)
    per_page = _int_param(query, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
    token = query.get("page_token") if modern else None
    if token is not None and "page" in query:
        raise ambiguity("page", "page_token")
    if "cvid" in query and "sort_by" in query:
        raise ambiguity("cvid", "sort_by")
    sort_by = query.get("sort_by", "id")
    if sort_by not in SORT_COLUMNS:
        raise invalid_param("sort_by", "the sort_by value is not supported")
    sort_order = query.get("sort_order", "desc")
    if sort_order not in ("asc", "desc"):
        raise invalid_param("sort_order")
    return wanted, per_page, token, sort_by, sort_order


def _listing_filter(sandbox: Sandbox, module: str, query: dict, headers):
    """(WHERE clauses, their parameters, If-Modified-Since) of a listing: the module, its view, the
    modification time, ids."""
    where, params = ["module = ?"], [module]
    if "cvid" in query:
        sql, view_params = _view_filter(sandbox, module, query["cvid"])
        where.append(f"({sql})")
        params.extend(view_params)
    since = _since(headers)
    if since is not None:
        where.append("modified_time > ?")
        params.append(since)
    if query.get("ids"):
        ids = [part.strip() for part in query["ids"].split(",") if part.strip()]
        numbers = [parse_id(part) for part in ids]
        if len(ids) > MAX_IDS or None in numbers:
            raise invalid_param("ids", "the ids given seem to be invalid")
        where.append(f"id IN ({','.join('?' * len(ids))})")
        params.extend(numbers)
    return where, params, since


def _token_window(sandbox: Sandbox, token: str, signature: str, column: str, direction: str, per_page: int,
                  where: list, params: list):
    """(position, offset, limit, page number) of the page a page_token asks for; adds its keyset clause."""
    state = _take_token(sandbox, token, signature)
    position = state["position"]
    if position >= sandbox.config["page_token_ceiling"]:
        raise ApiError(400, "PAGINATION_LIMIT_EXCEEDED",
                       "the page_token cannot go beyond the maximum number of records",
                       {"limit": sandbox.config["page_token_ceiling"]})
    where.append(f"({column}, id) {'>' if direction == 'ASC' else '<'} (?, ?)")
    params.extend(state["last_key"])
    limit = min(per_page, sandbox.config["page_token_ceiling"] - position)
    return position, 0, limit, position // per_page + 1


def _page_window(sandbox: Sandbox, query: dict, per_page: int, modern: bool):
    """(position, offset, limit, page number) of the page a page number asks for."""
    page_number = _int_param(query, "page", 1)
    offset = (page_number - 1) * per_page
    ceiling = sandbox.config["discrete_ceiling"] if modern else None
    if ceiling is not None and offset >= ceiling:
        raise ApiError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                       f"cannot fetch beyond record {ceiling} with the page parameter; use page_token",
                       {"limit": ceiling})
    limit = per_page if ceiling is None else min(per_page, ceiling - offset)
    return offset, offset, limit, page_number


def list_records(sandbox: Sandbox, module: str, query: dict, headers, version: int) -> Reply:
    modern = version >= 3
    wanted, per_page, token, sort_by, sort_order = _listing_params(sandbox, module, query, modern)
    where, params, since = _listing_filter(sandbox, module, query, headers)
    column = SORT_COLUMNS[sort_by]
    direction = "ASC" if sort_order == "asc" else "DESC"
    signature = _signature(module, version, query, headers)
    if token is not None:
        position, offset, limit, page_number = _token_window(sandbox, token, signature, column, direction, per_page,
                                                             where, params)
    else:
        position, offset, limit, page_number = _page_window(sandbox, query, per_page, modern)
    sql = (f"SELECT id, created_time, modified_time, data FROM records WHERE {' AND '.join(where)} "
           f"ORDER BY {column} {direction}, id {direction} LIMIT ? OFFSET ?")
    rows = sandbox.store.query(sql, (*params, limit + 1, offset))
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Reply(304 if since is not None else 204)
    info = {"per_page": per_page, "count": len(rows), "page": page_number, "sort_by": sort_by,
            "sort_order": sort_order, "more_records": more}
    if modern:
        next_token = expiry = None
        if more:
            last = rows[-1]
            next_token, expires = _issue_token(sandbox, {
                "signature": signature, "position": position + len(rows),
                "last_key": [last[column], last["id"]],
            })
            expiry = format_time(expires, sandbox.offset)
        info.update({"next_page_token": next_token, "previous_page_token": token, "page_token_expiry": expiry})
    return Reply(200, {"data": present(sandbox, module, rows, wanted), "info": info})


def _signature(module: str, version: int, query: dict, headers) -> str:
    """What a page_token is bound to: every parameter except the cursor itself."""
    bound = {key: value for key, value in query.items() if key not in ("page_token", "page")}
    bound["If-Modified-Since"] = headers.get("If-Modified-Since")
    text = json.dumps([module, version, sorted(bound.items())])
    return hashlib.sha256(text.encode()).hexdigest()


def _issue_token(sandbox: Sandbox, state: dict) -> tuple[str, int]:
    token = sandbox.new_token()
    now = sandbox.now()
    state["expires_at"] = now + PAGE_TOKEN_LIFETIME
    with sandbox.lock:
        if len(sandbox.page_tokens) > 10000:
            for key in [key for key, value in sandbox.page_tokens.items() if value["expires_at"] < now]:
                del sandbox.page_tokens[key]
        sandbox.page_tokens[token] = state
    return token, state["expires_at"]


def _take_token(sandbox: Sandbox, token: str, signature: str) -> dict:
    with sandbox.lock:
        state = sandbox.page_tokens.get(token)
    if state is None:
        raise invalid_param("page_token", "the page_token given seems to be invalid")
    if state["expires_at"] < sandbox.now():
        raise ApiError(400, "EXPIRED_VALUE", "the page_token has expired", {"param_name": "page_token"})
    if state["signature"] != signature:
        raise ApiError(400, "TOKEN_BOUND_DATA_MISMATCH",
                       "the parameters given do not match the ones the page_token was issued for",
                       {"param_name": "page_token"})
    return state


# --- search and count -------------------------------------------------------------------------------------

def _search_filter(sandbox: Sandbox, module: str, query: dict) -> tuple[str, list]:
    modes = [mode for mode in ("criteria", "email", "phone", "word") if query.get(mode)]
    if not modes:
        raise required_param("criteria")
    if len(modes) > 1:
        raise ambiguity(*modes)
    mode, value = modes[0], query[modes[0]]
    fields = sandbox.field_map(module)
    if mode == "criteria":
        return criteria.to_sql(criteria.parse(value), fields)
    if mode == "word" and len(value.strip()) < 2:
        raise invalid_param("word", "the word must have at least 2 characters")
    wanted_types = {"email": ("email",), "phone": ("phone",), "word": ("text", "textarea", "email", "phone",
                                                                      "website")}[mode]
    columns = [f"json_extract(data, '$.{name}')" for name, field in fields.items()
               if field["data_type"] in wanted_types]
    if not columns:
        return "0", []
    needle = value.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if mode == "email":
        return " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in columns), [needle] * len(columns)
    return " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in columns), [f"%{needle}%"] * len(columns)


def search(sandbox: Sandbox, module: str, query: dict, version: int) -> Reply:
    where, params = _search_filter(sandbox, module, query)
    wanted = wanted_fields(sandbox, module, query, required=False)
    per_page = _int_param(query, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
    page_number = _int_param(query, "page", 1)
    offset = (page_number - 1) * per_page
    ceiling = sandbox.config["discrete_ceiling"]
    if offset >= ceiling:
        raise ApiError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                       f"cannot fetch beyond record {ceiling} of a search", {"limit": ceiling})
    limit = min(per_page, ceiling - offset)
    extra, extra_params = "", []
    if "cvid" in query:
        sql, extra_params = _view_filter(sandbox, module, query["cvid"])
        extra = f" AND ({sql})"
    rows = sandbox.store.query(
        f"SELECT id, created_time, modified_time, data FROM records WHERE module = ? AND ({where}){extra} "
        f"ORDER BY id ASC LIMIT ? OFFSET ?",
        (module, *params, *extra_params, limit + 1, offset),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Reply(204)
    info = {"per_page": per_page, "count": len(rows), "page": page_number, "more_records": more}
    return Reply(200, {"data": present(sandbox, module, rows, wanted), "info": info})


def count(sandbox: Sandbox, module: str, query: dict) -> Reply:
    where, params = "1", []
    if any(query.get(mode) for mode in ("criteria", "email", "phone", "word")):
        where, params = _search_filter(sandbox, module, query)
    if "cvid" in query:
        sql, view_params = _view_filter(sandbox, module, query["cvid"])
        where, params = f"({where}) AND ({sql})", [*params, *view_params]
    total = sandbox.store.scalar(f"SELECT count(*) FROM records WHERE module = ? AND ({where})", (module, *params))
    return Reply(200, {"count": total})


# --- deleted records --------------------------------------------------------------------------------------

def deleted(sandbox: Sandbox, module: str, query: dict, headers) -> Reply:
    kind = query.get("type", "all")
    if kind not in ("all", "recycle", "permanent"):
        raise invalid_param("type")
    per_page = _int_param(query, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
    page_number = _int_param(query, "page", 1)
    where, params = ["module = ?"], [module]
    if kind != "all":
        where.append("type = ?")
        params.append(kind)
    since = _since(headers)
    if since is not None:
        where.append("deleted_time > ?")
        params.append(since)
    rows = sandbox.store.query(
        f"SELECT * FROM deleted WHERE {' AND '.join(where)} ORDER BY deleted_time DESC, id DESC LIMIT ? OFFSET ?",
        (*params, per_page + 1, (page_number - 1) * per_page),
    )
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not rows:
        return Reply(204)
    offset = sandbox.offset

    def user(user_id):
        found = USERS_BY_ID.get(user_id)
        return {"name": found["full_name"], "id": found["id"]} if found else None

    data = [{
        "id": str(row["id"]),
        "display_name": row["display_name"] if row["type"] == "recycle" else None,
        "type": row["type"],
        "deleted_by": user(row["deleted_by"]) if row["type"] == "recycle" else None,
        "created_by": user(row["created_by"]),
        "deleted_time": format_time(row["deleted_time"], offset),
    } for row in rows]
    return Reply(200, {"data": data, "info": {"per_page": per_page, "count": len(rows), "page": page_number,
                                              "more_records": more}})
