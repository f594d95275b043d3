"""Turn an error response into the exception tree, with a hint that names the fix.

Fabric answers `{errorCode, message, requestId, moreDetails[]}`; the Power BI API answers an
OData `{"error": {"code", "message", "details"}}`. Both land in the same ErrorDetails.
"""

from __future__ import annotations

from typing import Any

import httpx

from fabric_ci.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    ErrorDetails,
    ForbiddenError,
    NotFoundError,
    ServerError,
    ThrottledError,
    UnauthorizedError,
)

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: ThrottledError,
}

# Known errorCodes -> what to do about them. Codes are stable; messages are for people.
HINTS: dict[str, str] = {
    "InsufficientPrivileges": (
        "The service principal lacks a role: it must be an Admin of the deployment pipeline "
        "(add-user) and a Contributor (or higher) on the source and target workspaces."
    ),
    "PrincipalTypeNotSupported": (
        "An item in this deployment does not support service principals; deploy it with a user "
        "identity or leave it out of `items`."
    ),
    "TokenExpired": "The access token expired and could not be refreshed; re-run the step.",
    "NoDeploymentPipelineAccess": (
        "The principal cannot see this pipeline: add it as a pipeline Admin (add-user) and make sure "
        "the tenant setting 'Service principals can use Fabric APIs' is on."
    ),
}

STATUS_HINTS: dict[int, str] = {
    401: (
        "The token was refused. Check that the tenant setting 'Service principals can use Fabric APIs' "
        "allows this principal."
    ),
    403: HINTS["InsufficientPrivileges"],
    429: "The API kept throttling after the retry budget; try again later or deploy fewer items at once.",
}


def connection_failure(exc: Exception, url: str, input_name: str) -> str:
    """Why `url` could not be reached, and the input to fix: a certificate that does not verify
    needs `ca-bundle`; anything else (refused, no such host, timed out) needs the address checked."""
    # Imported here: retry.py imports this module for retry_after_seconds.
    from fabric_ci.api.retry import is_certificate_failure

    where = httpx.URL(url)
    host = f"{where.host}:{where.port}" if where.port else where.host
    if is_certificate_failure(exc):
        return (
            f"The TLS certificate of {host} does not verify ({exc}). If a TLS-inspecting proxy or the emulator "
            "signs it, give its CA certificate (PEM) in `ca-bundle`; otherwise check "
            f"`{input_name}`. Not retried: no retry makes a certificate verify."
        )
    reason = str(exc) or type(exc).__name__
    return f"Could not connect to {url} ({reason}). Check `{input_name}`: is {host} the right host and port?"


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: not used by these APIs; fall back to our own backoff


def error_details(response: httpx.Response) -> ErrorDetails:
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    details = ErrorDetails(
        status_code=response.status_code,
        request_id=response.headers.get("RequestId") or response.headers.get("x-ms-request-id") or "",
        retry_after=retry_after_seconds(response),
    )
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # Power BI (OData)
        odata = body["error"]
        details.error_code = str(odata.get("code", ""))
        details.message = str(odata.get("message", ""))
        details.more_details = [d for d in odata.get("details", []) or [] if isinstance(d, dict)]
    elif isinstance(body, dict):  # Fabric
        details.error_code = str(body.get("errorCode", ""))
        details.message = str(body.get("message", ""))
        details.request_id = str(body.get("requestId") or details.request_id)
        details.more_details = [d for d in body.get("moreDetails", []) or [] if isinstance(d, dict)]
    elif response.text:
        details.message = response.text[:500]
    return details


def api_error(response: httpx.Response) -> ApiError:
    details = error_details(response)
    cls = _BY_STATUS.get(response.status_code, ServerError if response.status_code >= 500 else ApiError)
    hint = HINTS.get(details.error_code) or STATUS_HINTS.get(response.status_code, "")
    return cls(details, hint=hint)
