"""Typed CRM errors. `transient` says whether trying again later may succeed."""


class CrmError(Exception):
    transient = False

    def __init__(self, message: str, *, status: int | None = None, code: str = "", details=None, body=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}
        self.body = body  # the CRM's JSON answer, when there was one


class CrmUrlNotAllowed(CrmError):
    """The URL is not the https origin of a Zoho accounts server or API host (nor loopback when that is
    allowed)."""


class CrmRedirected(CrmError):
    """The server answered with a redirect. The client follows none: tokens must reach only the hosts that
    were checked, and a Zoho endpoint that moved is a configuration to fix, not to guess."""


class CrmAuthError(CrmError):
    """The tokens no longer work: the connection needs to be authorized again."""


class CrmPermissionError(CrmError):
    """Authenticated, but the CRM user or scope may not do this."""


class CrmNotFound(CrmError):
    pass


class CrmInvalidData(CrmError):
    """The request was understood and refused for its content; sending it again will not help."""


class CrmTransientError(CrmError):
    transient = True


class CrmRateLimited(CrmTransientError):
    pass


class CrmServerError(CrmTransientError):
    pass


class CrmUnavailable(CrmTransientError):
    """No answer: connection refused or dropped, or a timeout, after every retry."""


class CrmBudgetReached(CrmError):
    """The next call would spend API credits past the budget this connection may use: stop, and go on
    when the rolling 24 hours free some."""


class CrmRetryLater(Exception):
    """Not a failure: the CRM asks us to wait longer than a worker should sit idle (`seconds`); the caller
    gives its place back and comes again. Deliberately not a CrmError, which callers turn into failures."""

    def __init__(self, seconds: float, error: CrmError):
        super().__init__(f"{error} (trying again in {seconds:.0f} s)")
        self.seconds = seconds
        self.error = error
