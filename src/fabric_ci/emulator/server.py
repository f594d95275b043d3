"""The HTTPS server, the routing table and `Emulator`, the in-process handle tests and the demo use.

One port serves: the Entra ID stand-in (`/{tenant}/...`, `/common/userrealm/...`), the Fabric API
(`/v1/...`), the Power BI API's pipelines and workspace users (`/v1.0/myorg/...`, same tenant state;
errors there are OData bodies), the token services sign-in methods rely on (GitHub Actions' and Azure DevOps' OIDC
endpoints under `/_github` and `/_azure-devops`, IMDS under `/metadata/identity`), and a control
API (`/_emulator/...`) that mirrors `Emulator.configure`, `inject`, `injections` and
`clear_injections` for users who run the emulator as a separate process. Injected faults can
answer an error status, drop the connection before or after the request is processed (a reset,
or an answer lost after the request was acted on), delay, or refuse a valid token as expired.
TLS is required because msal refuses plain-HTTP authorities; trustme makes
a throwaway CA, written to `ca_path` for clients to trust, which also issues the app's client
certificate (`client_certificate_path`, `client_certificate_encrypted_path`, `client_pfx_path`).
`sign_in(method)` gives the inputs and environment of each sign-in method.
"""

from __future__ import annotations

import contextlib
import errno
import re
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import trustme
from cryptography import x509

from fabric_ci.emulator import seed
from fabric_ci.emulator.ci_oidc import AZURE_DEVOPS_PATH, GITHUB_PATH, CiOidcApi
from fabric_ci.emulator.credentials import (
    CLIENT_CERTIFICATE_ENCRYPTED_FILE,
    CLIENT_CERTIFICATE_FILE,
    CLIENT_PFX_FILE,
    ClientCertificate,
    issue_client_certificate,
    write_client_certificate_files,
)
from fabric_ci.emulator.entra import EntraApi
from fabric_ci.emulator.fabric import FabricApi
from fabric_ci.emulator.identity import ClientAuthenticator
from fabric_ci.emulator.imds import IMDS_TOKEN_PATH, ImdsApi
from fabric_ci.emulator.network import certificate_names, checked_hostname, listen_address, url_host
from fabric_ci.emulator.powerbi import BASE_PATH as POWERBI_BASE_PATH
from fabric_ci.emulator.powerbi import PowerBiApi
from fabric_ci.emulator.protocol import Handler, Request, Response, fabric_error, powerbi_error, utc
from fabric_ci.emulator.sign_in import SignIn, sign_in_for
from fabric_ci.emulator.state import (
    SETTING_NAMES,
    UNANSWERED_FAULTS,
    AcceptedAssertion,
    Clock,
    Deployment,
    FabricError,
    InjectionRule,
    RequestRecord,
    Settings,
    TenantState,
    checked_settings,
)

CONTROL_OPERATION = "Emulator_Control"
UNKNOWN_OPERATION = "Unknown"
# The most of one request or response body a request-log entry keeps, in bytes of JSON. With the
# log's length capped too (state.MAX_LOGGED_REQUESTS), the log stays bounded however long the
# emulator runs and whatever clients send: a larger body is logged as a note of its size.
MAX_LOGGED_BODY_BYTES = 32 * 1024
# Fields that hold credentials: the request log keeps their place, not their value.
_SECRET_FIELDS = frozenset({"access_token", "refresh_token", "id_token", "oidcToken"})
_SECRET_FORM_FIELDS = frozenset({"client_secret", "client_assertion", "password", "refresh_token"})


@dataclass
class EmulatorConfig:
    """How an `Emulator` starts. Everything but host, hostnames, port and state_dir can change later (configure)."""

    host: str = "127.0.0.1"  # the IP address to listen on; 0.0.0.0 or :: for every interface (in a container)
    # The names clients reach it by (e.g. a container's service name): each is in the server
    # certificate, and the first is the host of every URL the emulator hands out (else 127.0.0.1).
    hostnames: tuple[str, ...] = ()
    port: int = 0  # 0 = any free port
    state_dir: str | Path | None = None  # where ca.pem goes; None = a temporary folder removed on stop
    operation_seconds: float = 8.0
    pipeline_operation_seconds: dict[str, float] = field(default_factory=dict)  # pipeline id -> its seconds
    deploy_retry_after: int = 30  # Retry-After of the deploy answer (202), as in Microsoft's example
    retry_after: int = 20  # Retry-After of a running operation's state, as in Microsoft's example; also 429s
    page_size: int = 2
    token_lifetime_seconds: int = 3600
    fail_items: frozenset[str] = field(default_factory=frozenset)
    assertion_lifetime_seconds: int = 600  # lifetime of the OIDC tokens the CI stand-ins issue
    github_subject: str = seed.GITHUB_SUBJECT  # the subject the GitHub stand-in puts in its tokens
    azure_devops_subject: str = seed.AZURE_DEVOPS_SUBJECT  # likewise for Azure DevOps
    federated_subjects: frozenset[str] = frozenset(seed.FEDERATED_SUBJECTS)  # the app's federated credentials
    option_requirements: dict[str, str] = field(default_factory=dict)  # item name -> Power BI option it needs
    admin_requests_per_hour: int = 200  # the Power BI admin APIs' quota
    listing_delay_seconds: float = 0.0  # how long a new deployment stays out of the operations views
    definition_seconds: float = 3.0  # how long a getDefinition operation runs
    log_requests: bool = False  # print one line per request (the CLI does)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler
    needs_token: bool


class Handled(NamedTuple):
    """What `Emulator.handle` made of a request: its operation, the answer, and the injected fault's kind."""

    operation: str
    response: Response  # for a "reset" (nothing processed), a placeholder with status 0
    fault: str | None


class StartError(Exception):
    """The emulator could not start; it left nothing in the state folder that was not there before."""


class PortInUse(StartError):
    """The port is taken, most likely by another emulator."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} on {host} is in use (another emulator?); choose another port or stop it")
        self.host = host
        self.port = port


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that does the TLS handshake in each connection's own thread."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: Emulator, context: ssl.SSLContext) -> None:
        self.emulator = emulator
        self.context = context
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6 and self.server_address[0] == "::":
            # Dual stack, whatever the system's default: the URLs of a wildcard name 127.0.0.1.
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

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
        operation, response, fault = self.server.emulator.handle(request)
        payload = response.encoded()
        headers = {"RequestId": request.request_id, **response.headers}
        if payload:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(payload))
        # Recorded before the answer goes out, so a client that has it (or lost it) finds it in the log.
        self.server.emulator.record(request, self.path, operation, response, headers, started, fault)
        if fault in UNANSWERED_FAULTS:
            self._drop(reset=fault == "reset")
            return
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self, *, reset: bool) -> None:
        """End the connection with no answer: an RST for a reset, a plain close (EOF) for a lost answer.

        No TLS close_notify either way: the service's answers are lost in the network, not politely.
        """
        self.close_connection = True
        if reset:
            # Linger 0: closing sends an RST instead of a FIN, which the client reads as a reset.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()


class Emulator:
    """A local Entra ID + Fabric deployment-pipelines service. Start it, point fabric-ci at `inputs()`."""

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock = time.time) -> None:
        self.config = config or EmulatorConfig()
        if not _is_port(self.config.port):
            raise ValueError(f"port must be a whole number from 0 to 65535, 0 for any (got {self.config.port!r})")
        # The settings are checked as configure() checks them: a bad one is a ValueError naming it.
        settings = checked_settings({name: getattr(self.config, name) for name in SETTING_NAMES})
        self.state = TenantState(Settings(**settings), clock=clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._temp_dir: Path | None = None
        self._ca_path: Path | None = None
        self._ca: trustme.CA | None = None
        self._ca_certificate: x509.Certificate | None = None
        self._client_certificate: ClientCertificate | None = None
        self._client_certificate_files: dict[str, Path] = {}
        # A bad address or name is a ValueError here, before anything listens, as a bad setting is.
        self._address = listen_address(self.config.host)
        names = self.config.hostnames
        self._hostnames = tuple(
            dict.fromkeys(checked_hostname(name) for name in ((names,) if isinstance(names, str) else names))
        )
        self._url_host = url_host(self._address, self._hostnames)
        self._ci = CiOidcApi(self.state, lambda: self.authority_host)
        self._imds = ImdsApi(self.state)
        authenticator = ClientAuthenticator(
            self.state,
            registered=lambda: [self._client_certificate] if self._client_certificate else [],
            ca_certificate=lambda: self._ca_certificate,
            federated_issuer_key=self._ci.key_for,
        )
        self._entra = EntraApi(self.state, lambda: self.authority_host, authenticator)
        self._fabric = FabricApi(self.state, lambda: self.authority_host)
        self._powerbi = PowerBiApi(self.state)
        self._routes = self._build_routes()

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        ca = trustme.CA(organization_name="fabric-ci emulator")
        cert = ca.issue_cert(*certificate_names(self._address, self._hostnames))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        # Listen before writing anything: a second emulator on a taken port must not replace the
        # ca.pem (and client certificate) that the first one's clients trust.
        try:
            server = _Server((self._address, self.config.port), self, context)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(self._address, self.config.port) from None
            bound = f"[{self._address}]" if ":" in self._address else self._address
            raise StartError(f"cannot listen on {bound}:{self.config.port}: {error.strerror or error}") from None
        try:
            state_dir = self._write_state(ca)
        except OSError as error:
            server.server_close()
            where = self.config.state_dir or tempfile.gettempdir()
            raise StartError(f"cannot write to the state folder {where}: {error.strerror or error}") from None
        self._server = server
        self._ca_path = state_dir / "ca.pem"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fabric-ci-emulator", daemon=True
        )
        self._thread.start()
        return self

    def _write_state(self, ca: trustme.CA) -> Path:
        """Write ca.pem and the client certificate files to the state folder (made if missing); the folder."""
        if self.config.state_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="fabric-ci-emulator-"))
            state_dir = self._temp_dir
        else:
            state_dir = Path(self.config.state_dir)
            state_dir.mkdir(parents=True, exist_ok=True)
        ca.cert_pem.write_to_path(str(state_dir / "ca.pem"))
        self._ca = ca
        self._ca_certificate = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
        # The certificate registered on the app: fresh with each start, like the CA that issues it.
        self._client_certificate = issue_client_certificate(ca, seed.CLIENT_CERTIFICATE_SUBJECT)
        self._client_certificate_files = write_client_certificate_files(
            state_dir, self._client_certificate, self._ca_certificate
        )
        return state_dir

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
    def listen_address(self) -> str:
        """The IP address the server is bound to (0.0.0.0 or :: for every interface)."""
        return self._address

    @property
    def hostnames(self) -> tuple[str, ...]:
        """The names clients reach the emulator by (EmulatorConfig.hostnames), checked and lower-cased."""
        return self._hostnames

    @property
    def authority_host(self) -> str:
        """The root of every URL the emulator hands out: https://{first host name, else the address}:{port}."""
        return f"https://{self._url_host}:{self.port}"

    @property
    def url(self) -> str:
        return self.authority_host

    @property
    def api_base_url(self) -> str:
        return f"{self.authority_host}/v1"

    @property
    def powerbi_base_url(self) -> str:
        """The Power BI REST API's base, as fabric-ci's api-base-url takes it: .../v1.0/myorg."""
        return f"{self.authority_host}{POWERBI_BASE_PATH}"

    @property
    def ca_path(self) -> str:
        if self._ca_path is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return str(self._ca_path)

    @property
    def client_certificate(self) -> ClientCertificate:
        """The certificate registered on the app (its key, and its SHA-1 and SHA-256 thumbprints)."""
        if self._client_certificate is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return self._client_certificate

    def _client_file(self, name: str) -> str:
        if name not in self._client_certificate_files:
            raise RuntimeError("the emulator is not running: call start() first")
        return str(self._client_certificate_files[name])

    @property
    def client_certificate_path(self) -> str:
        """client-certificate.pem: the unencrypted PKCS#8 private key, then the certificate."""
        return self._client_file(CLIENT_CERTIFICATE_FILE)

    @property
    def client_certificate_encrypted_path(self) -> str:
        """client-certificate-encrypted.pem: the key encrypted with CLIENT_CERTIFICATE_PASSWORD, then the cert."""
        return self._client_file(CLIENT_CERTIFICATE_ENCRYPTED_FILE)

    @property
    def client_pfx_path(self) -> str:
        """client-certificate.pfx: PKCS#12 with key, certificate and CA, password CLIENT_CERTIFICATE_PASSWORD."""
        return self._client_file(CLIENT_PFX_FILE)

    def issue_client_certificate(self, common_name: str = seed.CLIENT_CERTIFICATE_SUBJECT) -> ClientCertificate:
        """A new certificate from the emulator's CA, not registered on the app.

        With the trusted subject (the default) it signs in through subject name/issuer auth when
        sent with its x5c chain, as a renewed certificate would; with another name it is refused.
        """
        if self._ca is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return issue_client_certificate(self._ca, common_name)

    @property
    def github_request_url(self) -> str:
        """What ACTIONS_ID_TOKEN_REQUEST_URL holds for a job that may request an OIDC token."""
        return self._ci.github_request_url

    @property
    def azure_devops_request_uri(self) -> str:
        """What SYSTEM_OIDCREQUESTURI holds in an Azure Pipelines job."""
        return self._ci.azure_devops_request_uri

    @property
    def github_issuer(self) -> str:
        return self._ci.github_issuer

    @property
    def azure_devops_issuer(self) -> str:
        return self._ci.azure_devops_issuer

    @property
    def assertions(self) -> list[AcceptedAssertion]:
        """Client assertions the token endpoint accepted, oldest first (count distinct `jti`s for distinct ones)."""
        with self.state.lock:
            return list(self.state.assertions)

    def sign_in(self, method: str, api: str = "fabric") -> SignIn:
        """The fabric-ci inputs and environment for one sign-in method (see `sign_in.SIGN_IN_METHODS`).

        `api="powerbi"` points them at the Power BI API instead (see `inputs`).
        """
        return sign_in_for(self, method, api)

    def inputs(self, api: str = "fabric") -> dict[str, str]:
        """The fabric-ci inputs that point it at this emulator.

        `api="powerbi"`: the same sign-in, plus `api: powerbi` and the Power BI base URL. No scope
        input: fabric-ci's default Power BI scope is one the emulator issues tokens for.
        """
        inputs = {
            "tenant-id": seed.TENANT_ID,
            "client-id": seed.CLIENT_ID,
            "client-secret": seed.CLIENT_SECRET,
            "api-base-url": self.api_base_url,
            "authority-host": self.authority_host,
            "ca-bundle": self.ca_path,
        }
        return {**inputs, **self.api_inputs(api)}

    def api_inputs(self, api: str) -> dict[str, str]:
        """The inputs that choose the API: none for Fabric (the default), `api` and its base URL for Power BI."""
        if api == "fabric":
            return {}
        if api == "powerbi":
            return {"api": "powerbi", "api-base-url": self.powerbi_base_url}
        raise ValueError(f"unknown api {api!r}: use 'fabric' or 'powerbi'")

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
        pipeline_operation_seconds: dict[str, float] | None = None,
        deploy_retry_after: int | None = None,
        retry_after: int | None = None,
        fail_items: set[str] | frozenset[str] | list[str] | None = None,
        token_lifetime_seconds: int | None = None,
        page_size: int | None = None,
        assertion_lifetime_seconds: int | None = None,
        github_subject: str | None = None,
        azure_devops_subject: str | None = None,
        federated_subjects: set[str] | frozenset[str] | list[str] | None = None,
        option_requirements: dict[str, str] | None = None,
        admin_requests_per_hour: int | None = None,
        listing_delay_seconds: float | None = None,
        definition_seconds: float | None = None,
    ) -> None:
        """Change the simulation for requests from now on (deployments already accepted keep their timing).

        Every value is checked first: when one is wrong, ValueError says which and what is expected,
        and nothing changes. None leaves a setting as it is. The settings:

        - `operation_seconds` (default 8): how long each deployment runs, 0 or more.
        - `pipeline_operation_seconds` (default none): pipeline id -> how long that pipeline's
          deployments run, in place of `operation_seconds` (the whole mapping is replaced).
        - `deploy_retry_after` (default 30, as Microsoft's DeployAll.json and SelectiveDeploy.json
          examples): the Retry-After seconds of the Fabric deploy answer (202).
        - `retry_after` (default 20, as Microsoft's GetLongRunningOperationStateRunning.json): the
          Retry-After seconds of a running operation's state (GET /v1/operations/{id}) and of a
          result asked for too early, and of injected 429s whose rule names none.
        - `fail_items`: display names of items whose deployment step fails.
        - `token_lifetime_seconds` (default 3600): the lifetime of access tokens issued from now on.
        - `page_size` (default 2, at least 1): items per page of list responses.
        - `assertion_lifetime_seconds` (default 600, at least 1): the CI stand-ins' OIDC tokens' life.
        - `github_subject` / `azure_devops_subject`: the subject the CI stand-ins put in the tokens
          they issue; `federated_subjects`: the subjects the app trusts. Differing, they reproduce
          AADSTS700213.
        - `option_requirements`: item name -> the Power BI deployment option deploying it needs
          (see `state.py`).
        - `admin_requests_per_hour` (default 200): the Power BI admin APIs' quota.
        - `listing_delay_seconds` (default 0): how long a deployment, once accepted, is missing from
          the operations list and GET (404), as the service may lag; fabric-ci waits up to 30 s.
        - `definition_seconds` (default 3): how long a getDefinition operation runs before its
          result is ready (its 202 and running states ask for `retry_after`).
        """
        self.state.configure(
            operation_seconds=operation_seconds,
            pipeline_operation_seconds=pipeline_operation_seconds,
            deploy_retry_after=deploy_retry_after,
            retry_after=retry_after,
            fail_items=fail_items,
            token_lifetime_seconds=token_lifetime_seconds,
            page_size=page_size,
            assertion_lifetime_seconds=assertion_lifetime_seconds,
            github_subject=github_subject,
            azure_devops_subject=azure_devops_subject,
            federated_subjects=federated_subjects,
            option_requirements=option_requirements,
            admin_requests_per_hour=admin_requests_per_hour,
            listing_delay_seconds=listing_delay_seconds,
            definition_seconds=definition_seconds,
        )

    def inject(
        self,
        path_regex: str,
        count: int,
        status: int | None = None,
        retry_after: int | None = None,
        method: str | None = None,
        *,
        kind: str = "status",
        delay_seconds: float | None = None,
    ) -> None:
        """Make the next `count` requests whose path (without query, searched) and method match fail.

        Rules are tried in the order they were added; each matching request uses up one. `kind`:

        - "status" (the default): answer `status` (400-599) in the API's error shape; a 429 with
          Retry-After `retry_after` (default: the `retry_after` setting), others with it if given.
        - "reset": drop the connection (an RST) before the request is processed: nothing happens.
        - "lost": process the request (a deploy really starts), then close the connection without
          sending the answer, as when the service's answer is lost on the way.
        - "slow": wait `delay_seconds` before processing the request, then answer normally.
        - "token_expired": answer 401 TokenExpired although the bearer token is valid.

        `method` (e.g. "POST") limits the rule to one method. A wrong field raises ValueError
        saying what is expected, and adds no rule.
        """
        self.state.inject(path_regex, count, status, retry_after, method, kind=kind, delay_seconds=delay_seconds)

    @property
    def injections(self) -> list[dict[str, Any]]:
        """The fault rules still pending, in the order they are tried, as `GET /_emulator/inject` lists them."""
        with self.state.lock:
            return [rule.to_json() for rule in self.state.injections]

    def clear_injections(self) -> int:
        """Remove every pending fault rule; how many there were."""
        return len(self.state.clear_injections())

    # -- request handling ----------------------------------------------------------------------------------

    def _build_routes(self) -> list[Route]:
        fabric, entra, ci, pbi = self._fabric, self._entra, self._ci, self._powerbi
        pipeline = r"/v1/deploymentPipelines/(?P<pipeline>[^/]+)"
        stage = pipeline + r"/stages/(?P<stage>[^/]+)"
        role = r"/v1/workspaces/(?P<workspace>[^/]+)/roleAssignments"
        pbi_root = re.escape(POWERBI_BASE_PATH)
        pbi_pipeline = pbi_root + r"/pipelines/(?P<pipeline>[^/]+)"
        pbi_stage = pbi_pipeline + r"/stages/(?P<stage>[^/]+)"
        pbi_admin = pbi_root + r"/admin/pipelines"
        pbi_users = pbi_root + r"/groups/(?P<group>[^/]+)/users"
        table: list[tuple[str, str, str, Handler, bool]] = [
            (
                "GET",
                r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration",
                "Entra_Discovery",
                entra.discovery,
                False,
            ),
            ("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", "Entra_Token", entra.token, False),
            ("GET", r"/(?P<tenant>[^/]+)/discovery/v2\.0/keys", "Entra_Keys", entra.keys, False),
            ("GET", r"/common/userrealm/(?P<username>[^/]+)", "Entra_UserRealm", entra.user_realm, False),
            ("GET", GITHUB_PATH + r"/idtoken", "GitHub_IdToken", ci.github_id_token, False),
            (
                "GET",
                GITHUB_PATH + r"/\.well-known/(?P<document>openid-configuration|jwks)",
                "GitHub_OidcMetadata",
                ci.github_metadata,
                False,
            ),
            ("POST", AZURE_DEVOPS_PATH + r"/.+/oidctoken", "AzureDevOps_OidcToken", ci.azure_devops_oidc_token, False),
            (
                "GET",
                AZURE_DEVOPS_PATH + r"/(?P<organization>[^/]+)/\.well-known/(?P<document>openid-configuration|jwks)",
                "AzureDevOps_OidcMetadata",
                ci.azure_devops_metadata,
                False,
            ),
            ("GET", IMDS_TOKEN_PATH, "Imds_Token", self._imds.token, False),
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
            (
                "POST",
                r"/v1/workspaces/(?P<workspace>[^/]+)/items/(?P<item>[^/]+)/getDefinition",
                "Items_GetItemDefinition",
                fabric.get_item_definition,
                True,
            ),
            (
                "GET",
                r"/v1/workspaces/(?P<workspace>[^/]+)/items/(?P<item>[^/]+)/relations/upstream",
                "Items_Get_Upstream_Relations_(beta)",
                fabric.upstream_relations,
                True,
            ),
            ("GET", role, "Workspaces_ListWorkspaceRoleAssignments", fabric.list_workspace_roles, True),
            ("POST", role, "Workspaces_AddWorkspaceRoleAssignment", fabric.add_workspace_role, True),
            (
                "GET",
                role + r"/(?P<assignment>[^/]+)",
                "Workspaces_GetWorkspaceRoleAssignment",
                fabric.get_workspace_role,
                True,
            ),
            (
                "PATCH",
                role + r"/(?P<assignment>[^/]+)",
                "Workspaces_UpdateWorkspaceRoleAssignment",
                fabric.update_workspace_role,
                True,
            ),
            (
                "DELETE",
                role + r"/(?P<assignment>[^/]+)",
                "Workspaces_DeleteWorkspaceRoleAssignment",
                fabric.delete_workspace_role,
                True,
            ),
            # The Power BI REST API (operationIds of powerbi/swagger.json).
            ("GET", pbi_root + r"/pipelines", "Pipelines_GetPipelines", pbi.list_pipelines, True),
            ("POST", pbi_root + r"/pipelines", "Pipelines_CreatePipeline", pbi.create_pipeline, True),
            ("GET", pbi_pipeline, "Pipelines_GetPipeline", pbi.get_pipeline, True),
            ("DELETE", pbi_pipeline, "Pipelines_DeletePipeline", pbi.delete_pipeline, True),
            ("GET", pbi_pipeline + r"/stages", "Pipelines_GetPipelineStages", pbi.list_stages, True),
            (
                "GET",
                pbi_stage + r"/artifacts",
                "Pipelines_GetPipelineStageArtifacts",
                pbi.stage_artifacts,
                True,
            ),
            ("POST", pbi_stage + r"/assignWorkspace", "Pipelines_AssignWorkspace", pbi.assign_workspace, True),
            ("POST", pbi_stage + r"/unassignWorkspace", "Pipelines_UnassignWorkspace", pbi.unassign_workspace, True),
            ("POST", pbi_pipeline + r"/deployAll", "Pipelines_DeployAll", pbi.deploy_all, True),
            ("POST", pbi_pipeline + r"/deploy", "Pipelines_SelectiveDeploy", pbi.selective_deploy, True),
            ("GET", pbi_pipeline + r"/operations", "Pipelines_GetPipelineOperations", pbi.list_operations, True),
            (
                "GET",
                pbi_pipeline + r"/operations/(?P<operation>[^/]+)",
                "Pipelines_GetPipelineOperation",
                pbi.get_operation,
                True,
            ),
            ("GET", pbi_pipeline + r"/users", "Pipelines_GetPipelineUsers", pbi.list_pipeline_users, True),
            ("POST", pbi_pipeline + r"/users", "Pipelines_UpdatePipelineUser", pbi.add_pipeline_user, True),
            (
                "DELETE",
                pbi_pipeline + r"/users/(?P<identifier>[^/]+)",
                "Pipelines_DeletePipelineUser",
                pbi.delete_pipeline_user,
                True,
            ),
            ("GET", pbi_admin, "Pipelines_GetPipelinesAsAdmin", pbi.admin_list_pipelines, True),
            (
                "GET",
                pbi_admin + r"/(?P<pipeline>[^/]+)/users",
                "Pipelines_GetPipelineUsersAsAdmin",
                pbi.admin_list_pipeline_users,
                True,
            ),
            (
                "POST",
                pbi_admin + r"/(?P<pipeline>[^/]+)/users",
                "Pipelines_UpdateUserAsAdmin",
                pbi.admin_add_pipeline_user,
                True,
            ),
            (
                "DELETE",
                pbi_admin + r"/(?P<pipeline>[^/]+)/users/(?P<identifier>[^/]+)",
                "Pipelines_DeleteUserAsAdmin",
                pbi.admin_delete_pipeline_user,
                True,
            ),
            ("GET", pbi_users, "Groups_GetGroupUsers", pbi.list_group_users, True),
            ("POST", pbi_users, "Groups_AddGroupUser", pbi.add_group_user, True),
            ("PUT", pbi_users, "Groups_UpdateGroupUser", pbi.update_group_user, True),
            ("DELETE", pbi_users + r"/(?P<user>[^/]+)", "Groups_DeleteUserInGroup", pbi.delete_group_user, True),
            ("GET", r"/_emulator/requests", CONTROL_OPERATION, self._control_requests, False),
            ("GET", r"/_emulator/deployments", CONTROL_OPERATION, self._control_deployments, False),
            ("POST", r"/_emulator/configure", CONTROL_OPERATION, self._control_configure, False),
            ("POST", r"/_emulator/inject", CONTROL_OPERATION, self._control_inject, False),
            ("GET", r"/_emulator/inject", CONTROL_OPERATION, self._control_injections, False),
            ("DELETE", r"/_emulator/inject", CONTROL_OPERATION, self._control_clear_injections, False),
            ("GET", r"/_emulator/assertions", CONTROL_OPERATION, self._control_assertions, False),
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

    def handle(self, request: Request) -> Handled:
        """Answer one request: the operation it was, the response, and the injected fault that met it.

        A "reset" or "lost" fault means the server sends nothing back (see `_Handler._drop`).
        Control requests (/_emulator/...) never meet injected faults.
        """
        found = self._route(request)
        operation = found[0].operation if found else UNKNOWN_OPERATION
        fault = None
        if request.path.startswith("/_emulator/"):
            operation = CONTROL_OPERATION
        else:
            rule = self.state.take_injection(request.method, request.path)
            fault = rule.kind if rule else None
            injected = self._injected(request, rule) if rule else None
            if injected is not None:
                return Handled(operation, injected, fault)
            if found is None or found[0].needs_token:
                refusal = self._check_token(request)
                if refusal is not None:
                    return Handled(operation, refusal, fault)
        return Handled(operation, self._answer(request, found), fault)

    def _answer(self, request: Request, found: tuple[Route, dict[str, str]] | None) -> Response:
        if found is None:
            return self._error(
                request, 404, "EntityNotFound", f"The requested resource '{request.path}' could not be found."
            )
        route, params = found
        try:
            return route.handler(request, params)
        except FabricError as error:
            return self._error(
                request,
                error.status,
                error.error_code,
                error.message,
                more_details=error.more_details,
                headers=error.headers,
            )
        except Exception:  # an emulator bug must still answer, as the service would: 500 UnknownError
            traceback.print_exc()
            return self._error(request, 500, "UnknownError", "An error occurred in the emulator.")

    @staticmethod
    def _error(
        request: Request,
        status: int,
        code: str,
        message: str,
        *,
        more_details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        retriable: bool | None = None,
    ) -> Response:
        """An error in the shape of the API the request went to: OData under /v1.0/myorg, else Fabric's."""
        if request.path.startswith(POWERBI_BASE_PATH + "/"):
            return powerbi_error(status, code, message, headers=headers)
        return fabric_error(
            request, status, code, message, more_details=more_details, headers=headers, retriable=retriable
        )

    def _check_token(self, request: Request) -> Response | None:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        status = self.state.token_status(token.strip()) if scheme.lower() == "bearer" else "unknown"
        if status == "valid":
            return None
        if status == "expired":
            return self._token_expired(request)
        message = (
            "The request has no bearer token."
            if not authorization
            else "The access token is not valid: it was not issued by this emulator."
        )
        return self._error(request, 401, "Unauthorized", message, headers={"WWW-Authenticate": "Bearer"})

    def _token_expired(self, request: Request) -> Response:
        return self._error(
            request,
            401,
            "TokenExpired",
            "Access token has expired, resubmit with a new access token",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def _injected(self, request: Request, rule: InjectionRule) -> Response | None:
        """What an injected fault answers instead of the request's own answer; None to go on with it
        (for "lost", and for "slow" once its delay has passed)."""
        if rule.kind == "reset":
            return Response(0)  # nothing is sent; the status is what the request log shows
        if rule.kind == "token_expired":
            return self._token_expired(request)
        if rule.kind == "slow":
            time.sleep(rule.delay_seconds or 0.0)
            return None
        if rule.kind == "lost":
            return None  # processed as usual; _Handler then drops the answer
        status, retry_after = rule.status or 500, rule.retry_after
        headers: dict[str, str] = {}
        seconds = retry_after if retry_after is not None else self.state.settings.retry_after
        if status == 429:
            until = utc(time.time() + seconds)
            return self._error(
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
            return self._error(
                request,
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
                headers=headers,
                retriable=True,
            )
        if status >= 500:
            return self._error(request, status, "UnknownError", "An error occurred.", headers=headers, retriable=True)
        return self._error(request, status, "InjectedError", f"Injected failure with status {status}.", headers=headers)

    def record(
        self,
        request: Request,
        raw_path: str,
        operation: str,
        response: Response,
        response_headers: dict[str, str],
        started: float,
        fault: str | None = None,
    ) -> None:
        """Add the request to the log (credentials redacted; bodies over MAX_LOGGED_BODY_BYTES as
        a note of their size), and print its line when `log_requests` is set.

        Control requests (/_emulator/...) are printed but never logged: a listing of the log inside
        the log made each listing contain the previous one, doubling it with every call.
        """
        if operation != CONTROL_OPERATION:
            self.state.record(self._log_entry(request, raw_path, operation, response, response_headers, started, fault))
        if self.config.log_requests:
            outcome = {
                None: str(response.status),
                "reset": "connection reset, not processed (injected reset)",
                "lost": f"{response.status} not sent, connection closed (injected lost)",
            }.get(fault, f"{response.status} (injected {fault})")
            print(f"{request.method} {raw_path} -> {outcome} ({operation})", flush=True)

    @staticmethod
    def _log_entry(
        request: Request,
        raw_path: str,
        operation: str,
        response: Response,
        response_headers: dict[str, str],
        started: float,
        fault: str | None,
    ) -> RequestRecord:
        request_headers = dict(request.headers)
        if "authorization" in request_headers:
            request_headers["authorization"] = "<redacted>"
        body = response.body
        response_size = len(response.encoded())
        if response_size > MAX_LOGGED_BODY_BYTES:
            body = _not_kept(response_size)
        elif isinstance(body, dict):
            secret_fields = _SECRET_FIELDS | ({"value"} if operation == "GitHub_IdToken" else set())
            body = {k: "<redacted>" if k in secret_fields else v for k, v in body.items()}
        return RequestRecord(
            method=request.method,
            path=raw_path,
            operation=operation,
            status=response.status,
            started_at=started,
            finished_at=time.time(),
            request_headers=request_headers,
            request_body=_logged_request_body(request),
            response_headers=dict(response_headers),
            response_body=body,
            fault=fault,
        )

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
            return _control_refusal(
                request,
                'Send a JSON object of settings to change, such as {"operation_seconds": 30}; '
                f"the settings are {', '.join(SETTING_NAMES)}.",
            )
        try:
            self.state.configure(**body)
        except ValueError as error:
            return _control_refusal(request, f"Invalid settings, nothing was changed: {error}.")
        return Response(200, _settings_json(self.state.settings))

    def _control_assertions(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, {"value": [a.to_json() for a in self.assertions]})

    def _control_inject(self, request: Request, params: dict[str, str]) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return _control_refusal(
                request,
                'Send a JSON object such as {"path_regex": "/deploy$", "count": 1, "status": 503}; '
                f"the fields are {', '.join(INJECTION_FIELDS)}.",
            )
        unknown = [key for key in body if key not in INJECTION_FIELDS]
        if unknown:
            return _control_refusal(
                request,
                f"Invalid injection, no rule was added: unknown field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}: the fields are {', '.join(INJECTION_FIELDS)}.",
            )
        try:
            # Missing required fields are passed as None, so the refusal names them.
            rule_fields: dict[str, Any] = {"path_regex": None, "count": None, "kind": "status", **body}
            rule = self.state.inject(**rule_fields)
        except ValueError as error:
            return _control_refusal(request, f"Invalid injection, no rule was added: {error}.")
        return Response(200, {"injected": rule.to_json()})

    def _control_injections(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, {"value": self.injections})

    def _control_clear_injections(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, {"cleared": self.clear_injections()})


# The fields of a fault rule, as POST /_emulator/inject takes them and GET lists them.
INJECTION_FIELDS = ("kind", "path_regex", "method", "count", "status", "retry_after", "delay_seconds")


def _control_refusal(request: Request, message: str) -> Response:
    return fabric_error(request, 400, "InvalidInput", message)


def _settings_json(settings: Settings) -> dict[str, Any]:
    """Every setting, sets as sorted lists."""
    values = {name: getattr(settings, name) for name in SETTING_NAMES}
    return {name: sorted(value) if isinstance(value, frozenset) else value for name, value in values.items()}


def _not_kept(size: int) -> str:
    """What the request log holds in place of a body too large to keep."""
    return f"<{size} bytes, not kept: the request log keeps bodies of up to {MAX_LOGGED_BODY_BYTES} bytes>"


def _logged_request_body(request: Request) -> Any:
    """JSON bodies as sent; form bodies (token requests) as fields, credentials redacted; a body
    over MAX_LOGGED_BODY_BYTES as a note of its size."""
    if len(request.body) > MAX_LOGGED_BODY_BYTES:
        return _not_kept(len(request.body))
    content_type = request.headers.get("content-type", "json")
    if "x-www-form-urlencoded" in content_type:
        fields = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: "<redacted>" if k in _SECRET_FORM_FIELDS else v for k, v in fields}
    return request.json() if "json" in content_type else None
