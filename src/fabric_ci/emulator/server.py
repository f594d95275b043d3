"""The HTTPS server, the routing table and `Emulator`, the in-process handle tests and the demo use.

One port serves three things: the Entra ID stand-in (`/{tenant}/...`), the Fabric API (`/v1/...`)
and a control API (`/_emulator/...`) that mirrors `Emulator.configure`/`inject` for users who run
the emulator as a separate process. TLS is required because msal refuses plain-HTTP authorities;
trustme makes a throwaway CA, written to `ca_path` for clients to trust.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import trustme

from fabric_ci.emulator import seed
from fabric_ci.emulator.entra import EntraApi
from fabric_ci.emulator.fabric import FabricApi
from fabric_ci.emulator.protocol import Handler, Request, Response, fabric_error, utc
from fabric_ci.emulator.state import (
    Clock,
    Deployment,
    FabricError,
    RequestRecord,
    Settings,
    TenantState,
)

CONTROL_OPERATION = "Emulator_Control"
UNKNOWN_OPERATION = "Unknown"


@dataclass
class EmulatorConfig:
    """How an `Emulator` starts. Everything but host, port and state_dir can change later (configure)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port
    state_dir: str | Path | None = None  # where ca.pem goes; None = a temporary folder removed on stop
    operation_seconds: float = 8.0
    retry_after: int = 1
    page_size: int = 2
    token_lifetime_seconds: int = 3600
    fail_items: frozenset[str] = field(default_factory=frozenset)
    log_requests: bool = False  # print one line per request (the CLI does)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler
    needs_token: bool


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that does the TLS handshake in each connection's own thread."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: Emulator, context: ssl.SSLContext) -> None:
        self.emulator = emulator
        self.context = context
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Handshaking here rather than on accept keeps one slow client from blocking the others.
        tls = self.context.wrap_socket(request, server_side=True)
        with self.connections_lock:
            self.connections.add(tls)
        try:
            super().finish_request(tls, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(tls)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        # Clients that drop a connection or fail the handshake are routine, not emulator faults.
        if isinstance(error, (ssl.SSLError, ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real clients expect
    server: _Server
    timeout = 60
    # Headers and body go out in separate writes; without TCP_NODELAY each response waits on delayed ACKs.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the emulator keeps its own request log."""

    def _dispatch(self) -> None:
        started = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        operation, response = self.server.emulator.handle(request)
        payload = response.encoded()
        headers = {"RequestId": request.request_id, **response.headers}
        if payload:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(payload))
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.server.emulator.record(request, self.path, operation, response, headers, started)


class Emulator:
    """A local Entra ID + Fabric deployment-pipelines service. Start it, point fabric-ci at `inputs()`."""

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock = time.time) -> None:
        self.config = config or EmulatorConfig()
        self.state = TenantState(
            Settings(
                operation_seconds=self.config.operation_seconds,
                retry_after=self.config.retry_after,
                page_size=self.config.page_size,
                token_lifetime_seconds=self.config.token_lifetime_seconds,
                fail_items=frozenset(self.config.fail_items),
            ),
            clock=clock,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._temp_dir: Path | None = None
        self._ca_path: Path | None = None
        self._host = "127.0.0.1" if self.config.host == "localhost" else self.config.host
        self._entra = EntraApi(self.state, lambda: self.authority_host)
        self._fabric = FabricApi(self.state, lambda: self.authority_host)
        self._routes = self._build_routes()

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        ca = trustme.CA(organization_name="fabric-ci emulator")
        cert = ca.issue_cert(*dict.fromkeys(["127.0.0.1", "localhost", self._host]))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        if self.config.state_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="fabric-ci-emulator-"))
            state_dir = self._temp_dir
        else:
            state_dir = Path(self.config.state_dir)
            state_dir.mkdir(parents=True, exist_ok=True)
        self._ca_path = state_dir / "ca.pem"
        ca.cert_pem.write_to_path(str(self._ca_path))
        self._server = _Server((self._host, self.config.port), self, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fabric-ci-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what clients need -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def authority_host(self) -> str:
        return f"https://{self._host}:{self.port}"

    @property
    def url(self) -> str:
        return self.authority_host

    @property
    def api_base_url(self) -> str:
        return f"{self.authority_host}/v1"

    @property
    def ca_path(self) -> str:
        if self._ca_path is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return str(self._ca_path)

    def inputs(self) -> dict[str, str]:
        """The fabric-ci inputs that point it at this emulator."""
        return {
            "tenant-id": seed.TENANT_ID,
            "client-id": seed.CLIENT_ID,
            "client-secret": seed.CLIENT_SECRET,
            "api-base-url": self.api_base_url,
            "authority-host": self.authority_host,
            "ca-bundle": self.ca_path,
        }

    @property
    def requests(self) -> list[RequestRecord]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def deployments(self) -> list[Deployment]:
        """Deployments accepted by this emulator (not the seeded history), oldest first."""
        with self.state.lock:
            self.state.settle()
            return list(self.state.deployments)

    def configure(
        self,
        *,
        operation_seconds: float | None = None,
        retry_after: int | None = None,
        fail_items: set[str] | frozenset[str] | list[str] | None = None,
        token_lifetime_seconds: int | None = None,
        page_size: int | None = None,
    ) -> None:
        """Change the simulation for requests from now on (deployments already accepted keep their timing)."""
        self.state.configure(
            operation_seconds=operation_seconds,
            retry_after=retry_after,
            fail_items=fail_items,
            token_lifetime_seconds=token_lifetime_seconds,
            page_size=page_size,
        )

    def inject(
        self, path_regex: str, count: int, status: int, retry_after: int | None = None, method: str | None = None
    ) -> None:
        """Answer the next `count` requests whose path (without query) matches with `status`."""
        self.state.inject(path_regex, count, status, retry_after, method)

    # -- request handling ----------------------------------------------------------------------------------

    def _build_routes(self) -> list[Route]:
        fabric, entra = self._fabric, self._entra
        pipeline = r"/v1/deploymentPipelines/(?P<pipeline>[^/]+)"
        stage = pipeline + r"/stages/(?P<stage>[^/]+)"
        table: list[tuple[str, str, str, Handler, bool]] = [
            (
                "GET",
                r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration",
                "Entra_Discovery",
                entra.discovery,
                False,
            ),
            ("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", "Entra_Token", entra.token, False),
            (
                "GET",
                r"/v1/deploymentPipelines",
                "DeploymentPipelines_ListDeploymentPipelines",
                fabric.list_pipelines,
                True,
            ),
            (
                "POST",
                r"/v1/deploymentPipelines",
                "DeploymentPipelines_CreateDeploymentPipeline",
                fabric.create_pipeline,
                True,
            ),
            ("GET", pipeline, "DeploymentPipelines_GetDeploymentPipeline", fabric.get_pipeline, True),
            ("PATCH", pipeline, "DeploymentPipelines_UpdateDeploymentPipeline", fabric.update_pipeline, True),
            ("DELETE", pipeline, "DeploymentPipelines_DeleteDeploymentPipeline", fabric.delete_pipeline, True),
            (
                "GET",
                pipeline + "/roleAssignments",
                "DeploymentPipelines_ListDeploymentPipelineRoleAssignments",
                fabric.list_role_assignments,
                True,
            ),
            (
                "POST",
                pipeline + "/roleAssignments",
                "DeploymentPipelines_AddDeploymentPipelineRoleAssignment",
                fabric.add_role_assignment,
                True,
            ),
            (
                "DELETE",
                pipeline + "/roleAssignments/(?P<principal>[^/]+)",
                "DeploymentPipelines_DeleteDeploymentPipelineRoleAssignment",
                fabric.delete_role_assignment,
                True,
            ),
            (
                "GET",
                pipeline + "/operations",
                "DeploymentPipelines_ListDeploymentPipelineOperations",
                fabric.list_operations,
                True,
            ),
            (
                "GET",
                pipeline + "/operations/(?P<operation>[^/]+)",
                "DeploymentPipelines_GetDeploymentPipelineOperation",
                fabric.get_operation,
                True,
            ),
            ("GET", pipeline + "/stages", "DeploymentPipelines_ListDeploymentPipelineStages", fabric.list_stages, True),
            ("GET", stage, "DeploymentPipelines_GetDeploymentPipelineStage", fabric.get_stage, True),
            ("PATCH", stage, "DeploymentPipelines_UpdateDeploymentPipelineStage", fabric.update_stage, True),
            (
                "GET",
                stage + "/items",
                "DeploymentPipelines_ListDeploymentPipelineStageItems",
                fabric.list_stage_items,
                True,
            ),
            ("POST", pipeline + "/deploy", "DeploymentPipelines_DeployStageContent", fabric.deploy, True),
            (
                "POST",
                stage + "/assignWorkspace",
                "DeploymentPipelines_AssignWorkspaceToStage",
                fabric.assign_workspace,
                True,
            ),
            (
                "POST",
                stage + "/unassignWorkspace",
                "DeploymentPipelines_UnassignWorkspaceFromStage",
                fabric.unassign_workspace,
                True,
            ),
            (
                "GET",
                r"/v1/operations/(?P<operation>[^/]+)",
                "LongRunningOperations_GetOperationState",
                fabric.get_operation_state,
                True,
            ),
            (
                "GET",
                r"/v1/operations/(?P<operation>[^/]+)/result",
                "LongRunningOperations_GetOperationResult",
                fabric.get_operation_result,
                True,
            ),
            ("GET", r"/_emulator/requests", CONTROL_OPERATION, self._control_requests, False),
            ("GET", r"/_emulator/deployments", CONTROL_OPERATION, self._control_deployments, False),
            ("POST", r"/_emulator/configure", CONTROL_OPERATION, self._control_configure, False),
            ("POST", r"/_emulator/inject", CONTROL_OPERATION, self._control_inject, False),
        ]
        return [
            Route(method, re.compile(f"^{pattern}$"), operation, handler, needs_token)
            for method, pattern, operation, handler, needs_token in table
        ]

    def _route(self, request: Request) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match and route.method == request.method:
                return route, match.groupdict()
        return None

    def handle(self, request: Request) -> tuple[str, Response]:
        """Answer one request: (the operation it was, the response)."""
        found = self._route(request)
        operation = found[0].operation if found else UNKNOWN_OPERATION
        if request.path.startswith("/_emulator/"):
            operation = CONTROL_OPERATION
        else:
            rule = self.state.take_injection(request.method, request.path)
            if rule is not None:
                return operation, self._injected(request, rule.status, rule.retry_after)
            if found is None or found[0].needs_token:
                refusal = self._check_token(request)
                if refusal is not None:
                    return operation, refusal
        if found is None:
            return operation, fabric_error(
                request, 404, "EntityNotFound", f"The requested resource '{request.path}' could not be found."
            )
        route, params = found
        try:
            return operation, route.handler(request, params)
        except FabricError as error:
            return operation, fabric_error(
                request,
                error.status,
                error.error_code,
                error.message,
                more_details=error.more_details,
                headers=error.headers,
            )
        except Exception:  # an emulator bug must still answer, as the service would: 500 UnknownError
            traceback.print_exc()
            return operation, fabric_error(request, 500, "UnknownError", "An error occurred in the emulator.")

    def _check_token(self, request: Request) -> Response | None:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        status = self.state.token_status(token.strip()) if scheme.lower() == "bearer" else "unknown"
        if status == "valid":
            return None
        headers = {"WWW-Authenticate": "Bearer"}
        if status == "expired":
            return fabric_error(
                request,
                401,
                "TokenExpired",
                "Access token has expired, resubmit with a new access token",
                headers=headers,
            )
        message = (
            "The request has no bearer token."
            if not authorization
            else "The access token is not valid: it was not issued by this emulator."
        )
        return fabric_error(request, 401, "Unauthorized", message, headers=headers)

    def _injected(self, request: Request, status: int, retry_after: int | None) -> Response:
        headers: dict[str, str] = {}
        seconds = retry_after if retry_after is not None else self.state.settings.retry_after
        if status == 429:
            until = utc(time.time() + seconds)
            return fabric_error(
                request,
                429,
                "RequestBlocked",
                f"Request is blocked by the upstream service until: {until} (UTC)",
                headers={"Retry-After": str(seconds)},
                retriable=True,
            )
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if status == 503:
            return fabric_error(
                request,
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
                headers=headers,
                retriable=True,
            )
        if status >= 500:
            return fabric_error(request, status, "UnknownError", "An error occurred.", headers=headers, retriable=True)
        return fabric_error(
            request, status, "InjectedError", f"Injected failure with status {status}.", headers=headers
        )

    def record(
        self,
        request: Request,
        raw_path: str,
        operation: str,
        response: Response,
        response_headers: dict[str, str],
        started: float,
    ) -> None:
        request_headers = dict(request.headers)
        if "authorization" in request_headers:
            request_headers["authorization"] = "<redacted>"
        body = response.body
        if isinstance(body, dict) and "access_token" in body:
            body = {**body, "access_token": "<redacted>"}
        record = RequestRecord(
            method=request.method,
            path=raw_path,
            operation=operation,
            status=response.status,
            started_at=started,
            finished_at=time.time(),
            request_headers=request_headers,
            request_body=request.json() if "json" in request.headers.get("content-type", "json") else None,
            response_headers=dict(response_headers),
            response_body=body,
        )
        self.state.record(record)
        if self.config.log_requests:
            print(f"{request.method} {raw_path} -> {response.status} ({operation})", flush=True)

    # -- control API -------------------------------------------------------------------------------------

    def _control_requests(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, {"value": [r.to_json() for r in self.requests]})

    def _control_deployments(self, request: Request, params: dict[str, str]) -> Response:
        now = self.state.now()
        return Response(
            200,
            {
                "value": [
                    {
                        "id": d.id,
                        "lroId": d.lro_id,
                        "pipelineId": d.pipeline_id,
                        "sourceStageId": d.source_stage_id,
                        "targetStageId": d.target_stage_id,
                        "acceptedAt": d.accepted_at,
                        "finishesAt": d.finishes_at,
                        "finalStatus": d.final_status,
                        "status": d.status_at(now),
                        "items": [s.source_display_name for s in d.steps],
                    }
                    for d in self.deployments
                ]
            },
        )

    def _control_configure(self, request: Request, params: dict[str, str]) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return fabric_error(request, 400, "InvalidInput", "Send a JSON object of settings.")
        try:
            self.configure(**body)
        except (TypeError, ValueError) as error:
            return fabric_error(request, 400, "InvalidInput", f"Invalid settings: {error}")
        settings = self.state.settings
        return Response(
            200,
            {
                "operation_seconds": settings.operation_seconds,
                "retry_after": settings.retry_after,
                "page_size": settings.page_size,
                "token_lifetime_seconds": settings.token_lifetime_seconds,
                "fail_items": sorted(settings.fail_items),
            },
        )

    def _control_inject(self, request: Request, params: dict[str, str]) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return fabric_error(
                request, 400, "InvalidInput", "Send {path_regex, count, status, retry_after?, method?}."
            )
        try:
            self.inject(
                str(body["path_regex"]),
                int(body["count"]),
                int(body["status"]),
                None if body.get("retry_after") is None else int(body["retry_after"]),
                body.get("method"),
            )
        except (KeyError, TypeError, ValueError, re.error) as error:
            return fabric_error(request, 400, "InvalidInput", f"Invalid injection: {error!r}")
        return Response(200, {"injected": body})
