"""An httpx transport that serves requests from an `Emulator`'s handler in this process, without
sockets or TLS: pass it to `fabric_ci.cli.run(..., http_transport=...)` together with a virtual
clock shared with `Emulator(clock=...)`, and hours of deployments and waiting run in seconds.
The chaos run and the waiting benchmark use it; so can a user's own tests.

The emulator must still be started (its URLs name its port), but no request reaches the port.
Requests are recorded in the emulator's request log as over the network (the control API's own are
not), their `started_at` on the emulator's clock.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx

from fabric_ci.emulator.protocol import Request
from fabric_ci.emulator.server import Emulator

__all__ = ["EmulatorTransport"]


class EmulatorTransport(httpx.BaseTransport):
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.serve(request)

    def serve(self, request: httpx.Request) -> httpx.Response:
        """Answer as the emulator's server would, faults injected with `Emulator.inject` included
        (a reset or a lost answer raise the transport errors httpx raises for them)."""
        started = self.emulator.state.now()  # the emulator's clock: virtual, when it is given one
        served = Request(
            method=request.method,
            path=request.url.path,
            query=dict(parse_qsl(request.url.query.decode())),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.read(),
        )
        handled = self.emulator.handle(served)
        answer = handled.response
        headers = {"RequestId": served.request_id, **answer.headers}
        payload = answer.encoded()
        if payload:
            headers["Content-Type"] = "application/json; charset=utf-8"
        raw_path = request.url.raw_path.decode()
        self.emulator.record(served, raw_path, handled.operation, answer, headers, started, handled.fault)
        if handled.fault in ("reset", "lost"):
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(answer.status, headers=headers, content=payload, request=request)
