"""Fabric list endpoints, page by page.

The continuation is read from the response *body* (`continuationToken`); a well-known client
reads it from the headers and so stops after the first page. We send the token back as a
query parameter on our own URL rather than following `continuationUri`, so the bearer token
only ever goes to the configured API base.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fabric_ci.api.transport import Transport

MAX_PAGES = 1000  # a guard against a service that never stops paging


def iter_values(transport: Transport, path: str, time_left: float | None = None) -> Iterator[dict[str, Any]]:
    """Every value of every page; `time_left` bounds all the pages together."""
    params: dict[str, str] = {}
    deadline = None if time_left is None else transport.clock.now() + time_left
    for _ in range(MAX_PAGES):
        left = None if deadline is None else deadline - transport.clock.now()
        body = transport.get_json(path, params=params or None, time_left=left)
        yield from body.get("value", [])
        token = body.get("continuationToken")
        if not token:
            return
        params = {"continuationToken": token}
    raise RuntimeError(f"{path}: more than {MAX_PAGES} pages; the continuation token never ran out")
