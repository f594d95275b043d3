"""Microsoft's Fabric and Power BI REST specs (Swagger 2.0) as a test oracle: find operations, validate exchanges.

The specs are read from `../shared/specs` next to the repository (or `$FABRIC_CI_SPECS`), never copied.
A path under /v1.0/myorg is checked against powerbi/swagger.json (whose paths carry that prefix and
which has no basePath), anything else against fabric/platform/swagger.json (basePath /v1).
Quirks of the published files are handled here rather than patched there:
- `deploymentPipelines.json` refers to `../../Common/definitions.json` but the folder is `common/`:
  references are resolved case-insensitively;
- `GET /operations/{id}/result` declares `{"type": "file"}`, which is no JSON Schema: any body passes;
- Power BI documents no error schema: error bodies are checked as OData `{"error": {"code", "message"}}`;
- Power BI's examples disagree with its schema in two places, and the examples show what the service
  does: Pipelines_GetPipelineOperation's `executionPlan` holds `"Steps"` (schema: `steps`), and
  Groups_AddGroupUser/UpdateGroupUser take a user as `emailAddress` alone (the schema requires
  `identifier` and `principalType`). Both spellings are accepted (`_as_documented`).
- Five beta operations put their required query in the path key (e.g.
  `/workspaces/{workspaceId}/items/{itemId}/relations/upstream?beta=true`): paths are matched
  without it. The relations operations' examples (GetUpstreamRelations.json...) are not in the files.
Swagger 2.0 schemas are validated as JSON Schema draft 4; `x-ms-*`, `readOnly` and `discriminator`
are annotations. Enums are checked strictly (the emulator must send documented values) and, beyond
the schema, so are property names: a response field the spec does not document (in `properties` or
`required`) is reported, since Swagger's open objects would otherwise let a misspelt field through.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.support.spec_files import find_specs

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_PATH = "/v1"
SWAGGER = Path("fabric/platform/swagger.json")
ERROR_RESPONSE_REF = "../common/definitions.json#/definitions/ErrorResponse"
POWERBI_BASE_PATH = "/v1.0/myorg"
POWERBI_SWAGGER = Path("powerbi/swagger.json")
# Sign-in (Entra, the CI systems' OIDC token services, IMDS) and the emulator's control API.
NOT_API_OPERATIONS = NOT_FABRIC_OPERATIONS = frozenset(
    {
        "Entra_Discovery",
        "Entra_Keys",
        "Entra_Token",
        "Entra_UserRealm",
        "GitHub_IdToken",
        "GitHub_OidcMetadata",
        "AzureDevOps_OidcToken",
        "AzureDevOps_OidcMetadata",
        "Imds_Token",
        "Emulator_Control",
    }
)


def specs_dir() -> Path:
    """The folder holding Microsoft's spec files ($FABRIC_CI_SPECS, ../shared/specs or .cache/specs).

    Fails (never skips) naming all three and `make specs` when none holds them: see spec_files.find_specs.
    """
    return find_specs()


def _find_case_insensitive(path: Path) -> Path:
    """`path` if it exists, else the one file whose path matches it ignoring case (the `Common` quirk)."""
    if path.exists():
        return path
    current = Path(path.anchor)
    for part in path.parts[1:]:
        if part == "..":
            current = current.parent
            continue
        exact = current / part
        if exact.exists():
            current = exact
            continue
        matches = [c for c in current.iterdir() if c.name.lower() == part.lower()] if current.is_dir() else []
        if len(matches) != 1:
            raise FileNotFoundError(f"cannot resolve {path} (no unique case-insensitive match for {part!r})")
        current = matches[0]
    return current


@functools.cache
def _load(path: str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8-sig"))


def _retrieve(uri: str) -> Resource[Any]:
    path = _find_case_insensitive(Path(unquote(urlsplit(uri).path)))
    return Resource.from_contents(_load(str(path)), default_specification=DRAFT4)


def _check_uuid(value: object) -> bool:
    return (
        not isinstance(value, str)
        or re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value) is not None
    )


def _check_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    # RFC 3339 wants a time zone, and the service writes "Z" on most times; but every example of a
    # deployment operation writes its lastUpdatedTime without one ("2020-12-13T09:26:43.153"), as the
    # emulator does, so a missing offset passes here (the emulator's tests hold which field has which).
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _check_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("uuid")(_check_uuid)
FORMAT_CHECKER.checks("date-time", raises=ValueError)(_check_date_time)
FORMAT_CHECKER.checks("int32")(_check_int32)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str  # as in the spec, without the basePath: /deploymentPipelines/{deploymentPipelineId}
    pattern: re.Pattern[str]
    spec: Mapping[str, Any]
    pointer: str  # JSON pointer of the operation inside swagger.json


class ApiSpec:
    """One loaded swagger.json with a reference registry for validating against its schemas.

    `base_path` is where its paths live on the wire; `prefix` is the part of it the spec's path
    templates leave out (Fabric's basePath /v1; nothing for Power BI, whose templates carry /v1.0/myorg).
    """

    def __init__(self, folder: Path, swagger: Path = SWAGGER, base_path: str = BASE_PATH) -> None:
        self.swagger_path = folder / swagger
        self.swagger_uri = self.swagger_path.resolve().as_uri()
        self.document = _load(str(self.swagger_path))
        self.base_path = base_path
        self.prefix = self.document.get("basePath") or ""
        assert base_path.startswith(self.prefix), f"the basePath of {swagger} changed"
        self.registry: Registry[Any] = Registry(retrieve=_retrieve)
        self.operations: list[Operation] = []
        for template, path_item in self.document["paths"].items():
            # Five beta paths carry their required query in the path key ("...?beta=true").
            route_template = template.split("?", 1)[0]
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route_template)) + "$"
            for method, operation in path_item.items():
                if method == "parameters":
                    continue
                escaped = template.replace("~", "~0").replace("/", "~1")
                self.operations.append(
                    Operation(
                        operation["operationId"],
                        method.upper(),
                        template,
                        re.compile(regex),
                        operation,
                        f"/paths/{escaped}/{method}",
                    )
                )

    def find(self, method: str, path: str) -> Operation:
        route = urlsplit(path).path
        if not route.startswith(self.base_path + "/"):
            raise AssertionError(f"{method} {path}: not under the spec's basePath {self.base_path}")
        route = route[len(self.prefix) :]
        matches = [op for op in self.operations if op.method == method.upper() and op.pattern.match(route)]
        if not matches:
            raise AssertionError(f"{method} {path}: no operation in the {self.name} spec has this method and path")
        # A literal segment beats a parameter (fewer braces = more specific).
        return min(matches, key=lambda op: op.template.count("{"))

    @property
    def name(self) -> str:
        return "Power BI" if self.base_path == POWERBI_BASE_PATH else "Fabric"

    def error_schema(self) -> dict[str, Any]:
        """The schema of this API's error bodies."""
        if self.base_path != POWERBI_BASE_PATH:
            return {"$ref": f"{self.swagger_uri.rsplit('/', 1)[0]}/{ERROR_RESPONSE_REF}"}
        detail = {"$ref": f"{self.swagger_uri}#/definitions/PowerBIApiErrorResponseDetail"}
        odata_error = {
            "type": "object",
            "required": ["code", "message"],
            "properties": {**detail_properties(), "details": {"type": "array", "items": detail}},
            "additionalProperties": False,
        }
        return {
            "type": "object",
            "required": ["error"],
            "properties": {"error": odata_error},
            "additionalProperties": False,
        }

    def validator(self, pointer: str) -> jsonschema.protocols.Validator:
        """A draft-4 validator for the schema at `pointer` in swagger.json (refs resolved relative to it)."""
        schema = {"$ref": f"{self.swagger_uri}#{pointer}"}
        return jsonschema.Draft4Validator(schema, registry=self.registry, format_checker=FORMAT_CHECKER)

    def resolve(self, schema: Mapping[str, Any], base_uri: str) -> tuple[Mapping[str, Any], str]:
        """Follow `$ref`s until a schema with content: (schema, its document's URI)."""
        while "$ref" in schema:
            reference = schema["$ref"]
            schema = self.registry.resolver(base_uri=base_uri).lookup(reference).contents
            base_uri = urljoin(base_uri, reference).split("#", 1)[0]
        return schema, base_uri


FabricSpec = ApiSpec  # the name before the Power BI spec joined


def detail_properties() -> dict[str, Any]:
    return {"code": {"type": "string"}, "message": {"type": "string"}, "target": {"type": "string"}}


@functools.cache
def spec() -> ApiSpec:
    """The Fabric spec."""
    return ApiSpec(specs_dir())


@functools.cache
def powerbi_spec() -> ApiSpec:
    """The Power BI spec."""
    return ApiSpec(specs_dir(), POWERBI_SWAGGER, POWERBI_BASE_PATH)


def spec_for(path: str) -> ApiSpec:
    """The spec of the API `path` belongs to: Power BI under /v1.0/myorg, else Fabric."""
    return powerbi_spec() if urlsplit(path).path.startswith(POWERBI_BASE_PATH + "/") else spec()


def operation_for(method: str, path: str) -> tuple[str, str]:
    """(operationId, path template with basePath) of the spec operation serving `method path`."""
    api = spec_for(path)
    operation = api.find(method, path)
    return operation.operation_id, api.prefix + operation.template


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _validate(validator: jsonschema.protocols.Validator, instance: Any, what: str) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        messages = dict.fromkeys(f"  at {e.json_path}: {_shorten(e.message)}" for e in errors)
        lines = list(messages)[:8]
        more = f"\n  ... and {len(messages) - 8} more" if len(messages) > 8 else ""
        raise AssertionError(f"{what} does not match the spec:\n" + "\n".join(lines) + more)


def _known_properties(fabric: ApiSpec, schema: Mapping[str, Any], base_uri: str) -> tuple[dict[str, Any], bool]:
    """The properties a schema documents (through allOf), each as (schema, base), and whether it is open-ended.

    A name listed in `required` counts as documented even without a `properties` entry (Power BI's
    DeploymentExecutionStep requires a `lastUpdatedTime` it does not describe).
    """
    schema, base_uri = fabric.resolve(schema, base_uri)
    properties: dict[str, Any] = {name: ({}, base_uri) for name in schema.get("required", [])}
    properties.update({name: (sub, base_uri) for name, sub in schema.get("properties", {}).items()})
    open_ended = "additionalProperties" in schema and schema["additionalProperties"] is not False
    for part in schema.get("allOf", []):
        inherited, inherited_open = _known_properties(fabric, part, base_uri)
        properties = {**inherited, **properties}
        open_ended = open_ended or inherited_open
    return properties, open_ended


def _undocumented(fabric: ApiSpec, instance: Any, schema: Mapping[str, Any], base_uri: str, path: str) -> list[str]:
    """JSON paths of object members that the schema does not document."""
    schema, base_uri = fabric.resolve(schema, base_uri)
    found: list[str] = []
    if isinstance(instance, dict):
        properties, open_ended = _known_properties(fabric, schema, base_uri)
        if not schema.get("properties") and not schema.get("allOf"):
            return found  # a free-form object
        for key, value in instance.items():
            if key in properties:
                sub, sub_base = properties[key]
                found += _undocumented(fabric, value, sub, sub_base, f"{path}.{key}")
            elif not open_ended:
                found.append(f"{path}.{key}")
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(instance):
            found += _undocumented(fabric, value, schema["items"], base_uri, f"{path}[{index}]")
    return found


def _as_documented(operation_id: str, body: Any) -> Any:
    """`body` with the spellings Microsoft's examples use where they differ from the schema, as the schema has them."""
    if not isinstance(body, dict):
        return body
    if operation_id == "Pipelines_GetPipelineOperation" and isinstance(body.get("executionPlan"), dict):
        plan = dict(body["executionPlan"])
        if "Steps" in plan and "steps" not in plan:
            plan["steps"] = plan.pop("Steps")
        return {**body, "executionPlan": plan}
    group_user = operation_id in ("Groups_AddGroupUser", "Groups_UpdateGroupUser")
    if group_user and "identifier" not in body and "emailAddress" in body:
        return {"identifier": body["emailAddress"], "principalType": "User", **body}
    return body


def _check_schema(fabric: ApiSpec, pointer: str, body: Any, what: str) -> None:
    _validate(fabric.validator(pointer), body, what)
    schema, base = fabric.resolve({"$ref": f"{fabric.swagger_uri}#{pointer}"}, fabric.swagger_uri)
    extra = _undocumented(fabric, body, schema, base, "$")
    if extra:
        raise AssertionError(f"{what} has members the spec does not document: {', '.join(extra)}")


def validate_request(method: str, path: str, body: Any) -> None:
    """Check a request body against the operation's body parameter; AssertionError names the operation and path."""
    api = spec_for(path)
    operation = api.find(method, path)
    body = _as_documented(operation.operation_id, body)
    what = f"{operation.operation_id} ({method} {path}) request body"
    parameters = operation.spec.get("parameters", [])
    body_parameters = [(i, p) for i, p in enumerate(parameters) if p.get("in") == "body"]
    if not body_parameters:
        if body not in (None, b"", "", {}):
            raise AssertionError(f"{what}: the operation takes no body, but one was sent: {body!r}")
        return
    index, parameter = body_parameters[0]
    if body is None:
        if parameter.get("required"):
            raise AssertionError(f"{what}: the body is required")
        return
    _check_schema(api, f"{operation.pointer}/parameters/{index}/schema", body, what)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get(name.lower())


def _check_header(what: str, name: str, value: str, declared: Mapping[str, Any]) -> None:
    if declared.get("type") == "integer" and not re.fullmatch(r"\d+", value.strip()):
        raise AssertionError(f"{what}: header {name} should be an integer, got {value!r}")
    if declared.get("format") == "uuid" and not _check_uuid(value):
        raise AssertionError(f"{what}: header {name} should be a GUID, got {value!r}")


def _validate_error_body(api: ApiSpec, what: str, body: Any) -> None:
    validator = jsonschema.Draft4Validator(api.error_schema(), registry=api.registry, format_checker=FORMAT_CHECKER)
    _validate(validator, body, what)


def validate_response(method: str, path: str, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
    """Check a response against the spec: body schema of the documented status, 202 headers, error bodies."""
    headers = headers or {}
    api = spec_for(path)
    try:
        operation = api.find(method, path)
    except AssertionError:
        if status >= 400:  # an unknown path still has to answer with its API's error body
            _validate_error_body(api, f"{method} {path} -> {status} error body", body)
            return
        raise
    what = f"{operation.operation_id} ({method} {path}) -> {status}"
    responses = operation.spec["responses"]
    key = str(status) if str(status) in responses else None
    if key is None:
        if status < 400:
            raise AssertionError(f"{what}: status {status} is not documented (documented: {', '.join(responses)})")
        key = "default"
    if status == 429 and _header(headers, "Retry-After") is None:
        raise AssertionError(f"{what}: documented header Retry-After is missing")
    documented = responses.get(key, {})
    for name, declared in documented.get("headers", {}).items():
        value = _header(headers, name)
        if value is None:
            if status in (202, 429):
                raise AssertionError(f"{what}: documented header {name} is missing")
            continue
        _check_header(what, name, value, declared)
    schema = documented.get("schema")
    if status >= 400:
        _validate_error_body(api, f"{what} error body", body)
        return
    if schema is None:
        if body not in (None, b"", ""):
            raise AssertionError(f"{what}: the spec documents no body, but one came: {body!r}")
        return
    if schema.get("type") == "file":
        return  # any content (see the module docstring)
    body = _as_documented(operation.operation_id, body)
    _check_schema(api, f"{operation.pointer}/responses/{key}/schema", body, f"{what} body")


def assert_log_conforms(records: Iterable[Any]) -> None:
    """Every Fabric and Power BI exchange in an emulator request log conforms to its API's spec.

    Requests are checked when the emulator accepted them (2xx): an invalid body must not have
    been accepted. Responses are always checked. Sign-in and control calls are neither API.
    """
    problems = []
    for record in records:
        if record.operation in NOT_API_OPERATIONS or record.fault == "reset":
            continue  # a reset (an injected fault) was never answered, so there is nothing to check
        try:
            if 200 <= record.status < 300:
                validate_request(record.method, record.path, record.request_body)
            validate_response(record.method, record.path, record.status, record.response_body, record.response_headers)
        except AssertionError as error:
            problems.append(str(error))
    if problems:
        raise AssertionError(f"{len(problems)} exchanges do not conform to the spec:\n" + "\n".join(problems))


@dataclass(frozen=True)
class ExampleRequest:
    """A request body from one of the spec's x-ms-examples files."""

    file_name: str
    operation_id: str
    method: str
    path: str  # the template with basePath, path parameters filled from the example
    parameters: Mapping[str, Any]
    body: Any


def example_requests(tag_folder: str = "deploymentPipelines") -> list[ExampleRequest]:
    """Every example under examples/<tag_folder>/ whose operation takes a body, with that body."""
    fabric = spec()
    found = []
    for operation in fabric.operations:
        body_names = [p["name"] for p in operation.spec.get("parameters", []) if p.get("in") == "body"]
        for example in operation.spec.get("x-ms-examples", {}).values():
            reference = example["$ref"]
            if f"/examples/{tag_folder}/" not in reference or not body_names:
                continue
            content = _load(str(_find_case_insensitive(fabric.swagger_path.parent / reference)))
            parameters = content["parameters"]
            path = BASE_PATH + re.sub(
                r"\{([^}]+)\}", lambda m, p=parameters: str(p.get(m.group(1), m.group(0))), operation.template
            )
            found.append(
                ExampleRequest(
                    Path(reference).name,
                    operation.operation_id,
                    operation.method,
                    path,
                    parameters,
                    parameters.get(body_names[0]),
                )
            )
    return sorted(found, key=lambda e: e.file_name)
