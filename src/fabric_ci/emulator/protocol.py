"""The request and response values the route handlers exchange, and the error bodies of both APIs."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def json(self) -> Any:
        """The body parsed as JSON; None when empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


Handler = Callable[[Request, dict[str, str]], Response]


def utc(timestamp: float, *, offset: bool = True) -> str:
    """ISO 8601 in UTC with milliseconds, as the service writes it: 2024-05-01T09:26:43.153Z. `offset=False`
    leaves out the Z, as Microsoft's examples write a deployment operation's lastUpdatedTime
    ("2020-12-13T09:26:43.153" beside an executionStartTime of "2020-12-13T09:25:43.153Z")."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + ("Z" if offset else "")


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and GUID_RE.match(value) is not None


def fabric_error(
    request: Request,
    status: int,
    error_code: str,
    message: str,
    *,
    more_details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    retriable: bool | None = None,
) -> Response:
    """A Fabric error body: {requestId, errorCode, message, moreDetails?, isRetriable?}."""
    body: dict[str, Any] = {"requestId": request.request_id, "errorCode": error_code, "message": message}
    if more_details:
        body["moreDetails"] = more_details
    if retriable is not None:
        body["isRetriable"] = retriable
    return Response(status, body, dict(headers or {}))


def powerbi_error(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> Response:
    """A Power BI error body, in OData shape: {"error": {"code", "message"}}."""
    return Response(status, {"error": {"code": code, "message": message}}, dict(headers or {}))
