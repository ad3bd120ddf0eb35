"""Zoho's error envelope, raised from anywhere in the sandbox and rendered by the server."""


class ApiError(Exception):
    """A request-level error: one `{"code","details","message","status":"error"}` object."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def body(self) -> dict:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


class RecordError(Exception):
    """A per-record failure inside a write; the other records of the call still go ahead."""

    def __init__(self, code: str, message: str, details: dict):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


def required_param(name: str) -> ApiError:
    return ApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": name})


def invalid_param(name: str, message: str = "invalid data", **details) -> ApiError:
    return ApiError(400, "INVALID_DATA", message, {"param_name": name, **details})


def invalid_module(name: str) -> ApiError:
    return ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"resource_path_index": 0})


def invalid_query(reason: str, **details) -> ApiError:
    return ApiError(400, "INVALID_QUERY", "invalid query formed", {"reason": reason, **details})


def ambiguity(*params: str) -> ApiError:
    return ApiError(
        400, "AMBIGUITY_DURING_PROCESSING", "ambiguity while processing the request", {"ambiguity_due_to": list(params)}
    )
