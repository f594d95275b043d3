"""Strict input models: raw runner strings in, validated values out, every error naming its input.

Runners hand over a dict of raw strings keyed by the GitHub (kebab-case) input names. Each
command has one model; `parse_inputs` validates the whole dict before any network call and
turns pydantic's errors into InputErrors that name the input and say what was expected.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from fabric_ci.errors import InputError, InputErrors
from fabric_ci.models.apis import (
    APIS,
    POWERBI_STAGE_NAMES,
    PRINCIPAL_TYPE_ALIASES,
    ApiName,
    ApiProfile,
    canonical_item_type,
)
from fabric_ci.models.clouds import CLOUDS, CloudName
from fabric_ci.models.credentials import (
    ClientCertificate,
    CredentialError,
    is_existing_file,
    load_client_certificate,
)
from fabric_ci.models.requests import DeployOptions, NewWorkspace
from fabric_ci.models.resources import PrincipalRef

DEFAULT_TIMEOUT = "30m"
MAX_ITEMS_PER_DEPLOYMENT = 300  # both APIs refuse more
# The service keeps notes of up to 1024 characters; fabric-ci appends a 21-character run marker
# (operations/deploy.py) so that a deployment whose answer was lost can be recognised.
MAX_NOTE_LENGTH = 1000
MAX_WORKSPACE_NAME_LENGTH = 256

# Inputs whose values are masked the moment a runner reads them.
SECRET_INPUTS = frozenset({"client-secret", "client-certificate", "client-certificate-password", "password"})


def _is_pem(lines: list[str]) -> bool:
    return any(line.startswith("-----BEGIN") for line in lines)


def secret_fragments(value: str) -> list[str]:
    """The strings to mask for a secret value. Runners mask line by line (GitHub never matches a
    multi-line mask), so a PEM key is masked per line of key material: its armour lines are public,
    and a short last line of base64 holds too little of the key to matter. Any other multi-line
    value is masked line by line whatever the lines' length: each line may be all of the secret."""
    lines = [line.strip() for line in value.strip().splitlines()]
    if len(lines) <= 1:
        return [value.strip()] if value.strip() else []
    if _is_pem(lines):
        return [line for line in lines if len(line) >= 8 and not line.startswith("-----")]
    return [line for line in lines if line]


def masked_input_values(name: str, value: str) -> list[str]:
    """What to mask when a runner reads input `name` (nothing for a certificate given as a path).

    A multi-line value that is not PEM text is masked whole as well: an input error echoes a value
    on one line, its newlines escaped (`got 'ab\\ncd'`), where no line-by-line mask matches it."""
    if name not in SECRET_INPUTS:
        return []
    if name == "client-certificate" and is_existing_file(value):
        return []
    fragments = secret_fragments(value)
    lines = value.strip().splitlines()
    if len(lines) > 1 and not _is_pem([line.strip() for line in lines]):
        fragments.append(value.strip())
    return fragments


AuthMethod = Literal["secret", "certificate", "oidc", "managed-identity", "user-password"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("secret", "certificate", "oidc", "managed-identity", "user-password")
# The inputs that carry each method's credential; `auth: auto` picks the method whose inputs are
# given. OIDC and managed identity have none: their credential comes from the machine.
CREDENTIAL_INPUTS: dict[AuthMethod, tuple[str, ...]] = {
    "secret": ("client-secret",),
    "certificate": ("client-certificate",),
    "user-password": ("username", "password"),
}
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"  # what Entra expects in CI systems' OIDC tokens

PrincipalType = Literal["User", "Group", "ServicePrincipal", "ServicePrincipalProfile"]
WorkspaceRole = Literal["Admin", "Member", "Contributor", "Viewer"]
PlanCompare = Literal["none", "definitions"]
WORKSPACE_ROLES: tuple[str, ...] = get_args(WorkspaceRole)


# --- value parsers: each raises ValueError with what was expected ------------------------------

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
# ASCII digits only: str.isdigit() and \d also take "\u00b2" (which int() refuses) and "\u0661" (which it reads as 1).
_DURATION_PART = re.compile(r"([0-9]+)\s*([hms])")
_DURATION = re.compile(r"^\s*([0-9]+\s*[hms]\s*)+$")
_TRUE, _FALSE = {"true", "True", "TRUE"}, {"false", "False", "FALSE"}


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def parse_guid(value: object) -> str:
    text = str(value).strip()
    if not is_guid(text):
        raise ValueError(f"expected a GUID like 00000000-0000-0000-0000-000000000000, got {text!r}")
    return str(uuid.UUID(text))


def parse_tenant(value: object) -> str:
    text = str(value).strip()
    if is_guid(text):
        return str(uuid.UUID(text))
    if _DOMAIN.match(text):
        return text.lower()
    raise ValueError(f"expected the tenant's GUID or a verified domain such as contoso.com, got {text!r}")


def parse_bool(value: object) -> bool:
    # The GitHub runner's rule (YAML 1.2 core schema): anything else is a typo worth reporting.
    if isinstance(value, bool):
        return value
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_duration(value: object) -> timedelta:
    """`90s`, `30m`, `1h`, `1h30m`, or a bare number of seconds."""
    if isinstance(value, timedelta):
        return value
    text = str(value).strip()
    if any(len(number) > 12 for number in re.findall(r"[0-9]+", text)):
        # Far beyond 168h, and past what int() converts at all: out of range, not a crash.
        raise ValueError(f"expected a duration between 1s and 168h, got {text!r}")
    if text.isascii() and text.isdigit():
        seconds = int(text)
    elif _DURATION.match(text):
        units = {"h": 3600, "m": 60, "s": 1}
        seconds = sum(int(n) * units[u] for n, u in _DURATION_PART.findall(text))
    else:
        raise ValueError(f"expected a duration such as 90s, 30m, 1h or 1h30m, got {text!r}")
    if not 0 < seconds <= 7 * 24 * 3600:
        raise ValueError(f"expected a duration between 1s and 168h, got {text!r}")
    return timedelta(seconds=seconds)


def parse_https_url(value: object) -> str:
    text = str(value).strip().rstrip("/")
    if not re.match(r"^https://[^/\s]+(/\S*)?$", text):
        raise ValueError(f"expected an https:// URL, got {text!r}")
    if "@" in text.split("/", 3)[2]:
        # A user and password in the URL would be sent, and shown in every message naming it.
        raise ValueError("expected an https:// URL without a user or password in it (give credentials as inputs)")
    return text


def parse_scope(value: object) -> str:
    text = str(value).strip()
    if not re.match(r"^(https|api)://\S+/\.default$", text):
        raise ValueError(
            f"expected a resource's scope ending in /.default, such as https://api.fabric.microsoft.com/.default, "
            f"got {text!r}"
        )
    return text


def parse_audience(value: object) -> str:
    text = str(value).strip()
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"expected the audience the OIDC token is issued for, such as {FEDERATED_AUDIENCE}")
    return text


def parse_username(value: object) -> str:
    text = str(value).strip()
    if not re.match(r"^[^@\s]+@[^@\s]+$", text):
        raise ValueError(f"expected a user principal name such as deployer@contoso.com, got {text!r}")
    return text


def parse_principal(value: object) -> str:
    """An object id, or a user principal name (only the Power BI API takes those; checked later)."""
    text = str(value).strip()
    if is_guid(text):
        return str(uuid.UUID(text))
    if re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text):
        return text
    raise ValueError(f"expected the principal's object id (a GUID) or a user principal name, got {text!r}")


def parse_ca_bundle(value: object) -> Path:
    path = Path(str(value).strip())
    # The OS refuses some names outright (too long, a NUL): that is "not a file" too, not a crash.
    try:
        is_file = path.is_file()
    except (OSError, ValueError):
        is_file = False
    if not is_file:
        raise ValueError(f"expected a PEM file of CA certificates, but {str(path)!r} is not a file")
    try:
        content = path.read_bytes()
    except OSError as error:
        raise ValueError(
            f"expected a PEM file of CA certificates, but {str(path)!r} cannot be read: {error.strerror}"
        ) from None
    if b"-----BEGIN CERTIFICATE-----" not in content:
        raise ValueError(f"expected a PEM file of CA certificates, but {str(path)!r} holds no certificate")
    return path


# --- references to things in the tenant, resolved later against the API -----------------------


@dataclass(frozen=True)
class PipelineSelector:
    """A pipeline by id, or by display name (exact, case-insensitive)."""

    id: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        return self.id or repr(self.name)


@dataclass(frozen=True)
class StageSelector:
    """A stage by id, by 0-based order, or by display name (case-insensitive)."""

    id: str | None = None
    order: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        if self.id:
            return self.id
        return f"order {self.order}" if self.order is not None else repr(self.name)


@dataclass(frozen=True)
class ItemSelector:
    """One `items` line: an item id, `ItemType: display name`, or a bare display name."""

    line: str
    id: str | None = None
    type: str | None = None
    name: str | None = None


def parse_pipeline(value: object) -> PipelineSelector:
    text = str(value).strip()
    if not text:
        raise ValueError("expected a deployment pipeline id or display name")
    return PipelineSelector(id=str(uuid.UUID(text))) if is_guid(text) else PipelineSelector(name=text)


def parse_stage(value: object) -> StageSelector:
    if isinstance(value, StageSelector):
        return value
    text = str(value).strip()
    if not text:
        raise ValueError("expected a stage id, display name, or 0-based order")
    if is_guid(text):
        return StageSelector(id=str(uuid.UUID(text)))
    if text.isascii() and text.isdigit() and len(text) <= 9:  # longer: no stage has that order, a name then
        return StageSelector(order=int(text))
    return StageSelector(name=text)


def parse_item_line(line: str) -> ItemSelector:
    text = line.strip()
    if is_guid(text):
        return ItemSelector(line=text, id=str(uuid.UUID(text)))
    item_type, sep, name = text.partition(":")
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", item_type.strip()) and name.strip():
        return ItemSelector(line=text, type=item_type.strip(), name=name.strip())
    return ItemSelector(line=text, name=text)


def parse_items(value: object) -> tuple[ItemSelector, ...]:
    if isinstance(value, tuple):
        return value
    lines = [ln for ln in str(value).splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if not lines:
        raise ValueError("expected at least one item, one per line: an id, `Type: name`, or a name")
    if len(lines) > MAX_ITEMS_PER_DEPLOYMENT:
        raise ValueError(f"a deployment can hold at most {MAX_ITEMS_PER_DEPLOYMENT} items, got {len(lines)}")
    return tuple(parse_item_line(ln) for ln in lines)


Guid = Annotated[str, BeforeValidator(parse_guid)]
Bool = Annotated[bool, BeforeValidator(parse_bool)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


# --- the models ----------------------------------------------------------------------------------


def _kebab(name: str) -> str:
    return name.replace("_", "-")


@dataclass(frozen=True)
class Endpoints:
    """Where to sign in and what to call, after `cloud` and its overrides are applied."""

    api_base_url: str
    authority_host: str
    scope: str


class Inputs(BaseModel):
    """Inputs every command takes: who signs in, how, and where the API is."""

    model_config = ConfigDict(alias_generator=_kebab, extra="forbid", frozen=True, defer_build=True)

    auth: Literal["auto", "secret", "certificate", "oidc", "managed-identity", "user-password"] = "auto"
    tenant_id: Annotated[str, BeforeValidator(parse_tenant)] | None = None
    client_id: Guid | None = None
    client_secret: SecretStr | None = None
    client_certificate: SecretStr | None = None
    client_certificate_password: SecretStr | None = None
    client_certificate_send_chain: Bool = False
    oidc_audience: Annotated[str, BeforeValidator(parse_audience)] = FEDERATED_AUDIENCE
    username: Annotated[str, BeforeValidator(parse_username)] | None = None
    password: SecretStr | None = None
    cloud: CloudName = "public"
    api: ApiName = "fabric"
    api_base_url: Annotated[str, BeforeValidator(parse_https_url)] | None = None
    authority_host: Annotated[str, BeforeValidator(parse_https_url)] | None = None
    scope: Annotated[str, BeforeValidator(parse_scope)] | None = None
    ca_bundle: Annotated[Path, BeforeValidator(parse_ca_bundle)] | None = None
    pipeline: Annotated[PipelineSelector, BeforeValidator(parse_pipeline)]

    # The inputs naming stages, checked against APIs whose stages are fixed (Power BI's three).
    stage_inputs: ClassVar[tuple[str, ...]] = ()

    @field_validator("auth", "cloud", "api", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return str(value).strip().lower()

    # -- derived values, valid once `problems()` is empty -----------------------------------------

    @cached_property
    def given(self) -> set[str]:
        """The names of the inputs that were given."""
        return {alias for alias in input_names(type(self)) if getattr(self, _snake(alias)) is not None}

    @cached_property
    def profile(self) -> ApiProfile:
        return APIS[self.api]

    @cached_property
    def method(self) -> AuthMethod | None:
        """The sign-in method the inputs alone decide; None: `auto` with no credential inputs,
        where the machine's OIDC (a CI job's identity) is the only candidate left."""
        return decided_method(self.auth, self.given)

    @cached_property
    def certificate(self) -> ClientCertificate:
        """The client certificate, loaded and checked (raises CredentialError)."""
        if self.client_certificate is None:
            raise CredentialError("client-certificate", "required and not supplied")
        password = self.client_certificate_password
        return load_client_certificate(
            self.client_certificate.get_secret_value(), password.get_secret_value() if password else None
        )

    @cached_property
    def endpoints(self) -> Endpoints:
        cloud = CLOUDS[self.cloud]
        return Endpoints(
            api_base_url=self.api_base_url or cloud.api_base_url(self.api) or "",
            authority_host=self.authority_host or cloud.authority_host,
            scope=self.scope or cloud.scope(self.api) or "",
        )

    def problems(self) -> list[InputError]:
        """What no single input shows: inputs that contradict or need each other."""
        errors = sign_in_gaps(self.auth, self.given)
        method = self.method
        if method == "certificate" and self.client_certificate is not None:
            try:
                _ = self.certificate
            except CredentialError as error:
                errors.append(InputError(error.input_name, str(error)))
        endpoints = self.endpoints
        where = f"with cloud: {self.cloud} and api: {self.api}"
        if not endpoints.api_base_url:
            errors.append(
                InputError(
                    "api-base-url",
                    f"required {where}. The Fabric API's address outside the public cloud is not published "
                    "consistently, so fabric-ci does not guess it: give it, together with scope",
                )
            )
        if not endpoints.scope:
            errors.append(
                InputError("scope", f"required {where}: the Entra ID resource of that API, followed by /.default")
            )
        errors += self._other_api_inputs()
        for name in self.stage_inputs:
            selector = getattr(self, _snake(name))
            if selector is not None and (problem := self._stage_problem(selector)):
                errors.append(InputError(name, problem))
        return errors

    def _other_api_inputs(self) -> list[InputError]:
        """Inputs of the other API are refused rather than ignored."""
        errors = []
        for other in APIS.values():
            for name in sorted(other.own_inputs & self.given):
                if other is not self.profile:
                    errors.append(
                        InputError(name, f"is an input of {other.title} only: set api: {other.name}, or remove it")
                    )
        return errors

    def _stage_problem(self, selector: StageSelector) -> str | None:
        stages = self.profile.fixed_stages
        if stages is None:
            return None
        known = ", ".join(f"{order} ({name})" for order, name in enumerate(stages))
        if selector.id is not None:
            return f"{self.profile.title} has no stage ids; give a stage by order or name: {known}"
        if stage_order(stages, selector) is None:
            return f"{self.profile.title} has three stages; expected one of {known}, got {selector}"
        return None


def _snake(name: str) -> str:
    return name.replace("-", "_")


def stage_order(stages: tuple[str, ...], selector: StageSelector) -> int | None:
    """A stage's order among fixed stages (the Power BI API's), or None when it is not one of them."""
    if selector.order is not None:
        return selector.order if selector.order < len(stages) else None
    names = [name.lower() for name in stages]
    return names.index(selector.name.lower()) if selector.name and selector.name.lower() in names else None


def credential_methods(given: set[str]) -> list[AuthMethod]:
    """The methods with any of their credential inputs among the `given` input names."""
    return [method for method, names in CREDENTIAL_INPUTS.items() if given.intersection(names)]


def decided_method(auth: str, given: set[str]) -> AuthMethod | None:
    if auth != "auto":
        return auth if auth in AUTH_METHODS else None
    methods = credential_methods(given)
    return methods[0] if len(methods) == 1 else None


def sign_in_gaps(auth: str, given: set[str]) -> list[InputError]:
    """Sign-in inputs missing or in conflict, from the names of the given inputs alone; run on raw
    inputs too, so that they are reported together with any other bad input."""
    methods = credential_methods(given)
    if auth == "auto" and len(methods) > 1:
        both = " and ".join(f"{m} ({', '.join(CREDENTIAL_INPUTS[m])})" for m in methods)
        return [
            InputError(
                "auth",
                f"the inputs of several sign-in methods are given: {both}. Set auth to the one to use, "
                "or remove the other inputs",
            )
        ]
    method = decided_method(auth, given)
    required = [] if method == "managed-identity" else ["tenant-id", "client-id"]  # an MI knows its own
    required += CREDENTIAL_INPUTS.get(method, ()) if method else ()
    errors = []
    for name in required:
        if name not in given:
            because = f" with auth: {method}" if name not in ("tenant-id", "client-id") else ""
            errors.append(InputError(name, f"required{because} and not supplied"))
    if "client-certificate-password" in given and "client-certificate" not in given:
        errors.append(InputError("client-certificate-password", "is given without client-certificate"))
    return errors


class DeployAllInputs(Inputs):
    """Deploy everything in a stage to another stage, and wait for it."""

    stage_inputs: ClassVar[tuple[str, ...]] = ("source-stage", "target-stage")

    source_stage: Annotated[StageSelector, BeforeValidator(parse_stage)]
    target_stage: Annotated[StageSelector, BeforeValidator(parse_stage)] | None = None
    backward: Bool = False
    note: Annotated[str, Field(max_length=MAX_NOTE_LENGTH)] | None = None
    wait: Bool = True
    timeout: Duration = parse_duration(DEFAULT_TIMEOUT)
    new_workspace_name: Annotated[str, Field(min_length=1, max_length=MAX_WORKSPACE_NAME_LENGTH)] | None = None
    capacity_id: Guid | None = None
    # Power BI API only; None = not given (the defaults are DeployOptions').
    update_app: Bool | None = None
    allow_create_artifact: Bool | None = None
    allow_overwrite_artifact: Bool | None = None
    allow_overwrite_target_artifact_label: Bool | None = None
    allow_purge_data: Bool | None = None
    allow_skip_tiles_with_missing_prerequisites: Bool | None = None
    allow_take_over: Bool | None = None
    # Fabric API only.
    allow_cross_region_deployment: Bool | None = None
    # true: say what the deployment would do and send nothing (operations/plan.py).
    plan: Bool = False
    # Fabric API only: also compare each overwritten item's definition with its target's. None: not
    # given, which is `none` (a default would count as given, and be refused with api: powerbi).
    plan_compare: PlanCompare | None = None

    @field_validator("plan_compare", mode="before")
    @classmethod
    def _plan_compare_any_case(cls, value: Any) -> Any:
        # `none`, the default, counts as not given: a template may pass it with api: powerbi too.
        if isinstance(value, str):
            value = value.strip().lower()
        return None if value == "none" else value

    @property
    def options(self) -> DeployOptions:
        given = {name: value for name in DeployOptions.model_fields if (value := getattr(self, name)) is not None}
        return DeployOptions(**given)

    @property
    def new_workspace(self) -> NewWorkspace | None:
        if self.new_workspace_name is None:
            return None
        return NewWorkspace(name=self.new_workspace_name, capacity_id=self.capacity_id)

    def problems(self) -> list[InputError]:
        errors = super().problems()
        if self.capacity_id is not None and self.new_workspace_name is None:
            errors.append(InputError("capacity-id", "is given without new-workspace-name"))
        stages = self.profile.fixed_stages
        if stages is None or errors:
            return errors
        # Fixed stages are known by order now: check what the API would refuse, before any request.
        source = stage_order(stages, self.source_stage)
        target = stage_order(stages, self.target_stage) if self.target_stage else None
        if source is None:
            return errors
        if self.target_stage is None:
            target = source - 1 if self.backward else source + 1
            if not 0 <= target < len(stages):
                which = "previous" if self.backward else "next"
                errors.append(
                    InputError(
                        "target-stage",
                        f"{stages[source]} ({source}) has no {which} stage to deploy to; set target-stage",
                    )
                )
                return errors
        if target is not None and self.backward and target > source:
            errors.append(
                InputError(
                    "backward",
                    f"is true, but target-stage {stages[target]} ({target}) comes after "
                    f"source-stage {stages[source]} ({source})",
                )
            )
        elif target is not None and abs(target - source) != 1:
            errors.append(
                InputError(
                    "target-stage",
                    f"{self.profile.title} deploys to the next stage, or (backward) to the previous one; "
                    f"from {stages[source]} ({source}) that is "
                    + " or ".join(f"{stages[o]} ({o})" for o in (source + 1, source - 1) if 0 <= o < len(stages)),
                )
            )
        return errors


class SelectiveDeployInputs(DeployAllInputs):
    """Deploy chosen items of a stage to another stage, and wait for it."""

    items: Annotated[tuple[ItemSelector, ...], BeforeValidator(parse_items)]

    def problems(self) -> list[InputError]:
        errors = super().problems()
        allowed = self.profile.item_types
        if allowed is not None:
            for item in self.items:
                if item.type and canonical_item_type(item.type) not in allowed:
                    errors.append(
                        InputError(
                            "items",
                            f"{item.line!r}: {self.profile.title} deploys only "
                            + ", ".join(sorted(allowed))
                            + " (Dataset is accepted for SemanticModel)",
                        )
                    )
        return errors


class AssignWorkspaceInputs(Inputs):
    """Assign a workspace to a pipeline stage."""

    stage_inputs: ClassVar[tuple[str, ...]] = ("stage",)

    stage: Annotated[StageSelector, BeforeValidator(parse_stage)]
    workspace: Guid


class UnassignWorkspaceInputs(Inputs):
    """Take the workspace off a pipeline stage."""

    stage_inputs: ClassVar[tuple[str, ...]] = ("stage",)

    stage: Annotated[StageSelector, BeforeValidator(parse_stage)]


# The Fabric spec's limits of pipelines and stages alike (CreateDeploymentPipelineRequest and its stages,
# DeploymentPipelineStageRequest: "The display name cannot contain more than 256 characters", "The
# description cannot contain more than 1024 characters"), and the 2-10 stages Microsoft's documentation
# gives (the spec states no count).
MIN_STAGES, MAX_STAGES = 2, 10
MAX_DISPLAY_NAME_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 1024


@dataclass(frozen=True)
class StageSpec:
    """One `stages` line: a stage's display name, and its description (None: not given)."""

    name: str
    description: str | None = None


# What create-pipeline creates when `stages` is empty: the Power BI API's three stages, which the Fabric
# portal also proposes for a new pipeline.
DEFAULT_STAGES = tuple(StageSpec(name) for name in POWERBI_STAGE_NAMES)


def _lines(value: object) -> list[str]:
    """The non-empty lines of a multi-line input, stripped; `#` starts a comment line, as in items."""
    return [ln.strip() for ln in str(value).splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _first_duplicate(names: list[str]) -> tuple[str, str] | None:
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            return seen[name.lower()], name
        seen[name.lower()] = name
    return None


def parse_display_name(value: object) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("expected the new pipeline's display name")
    if len(text) > MAX_DISPLAY_NAME_LENGTH:
        raise ValueError(f"must be at most {MAX_DISPLAY_NAME_LENGTH} characters, got {len(text)}")
    return text


def parse_stages(value: object) -> tuple[StageSpec, ...]:
    """`name` or `name: description`, one stage per line, in order."""
    if isinstance(value, tuple):
        return value
    specs = []
    for line in _lines(value):
        name, sep, description = (part.strip() for part in line.partition(":"))
        if not name or (sep and not description):
            raise ValueError(f"{line!r}: expected a stage name, or `name: description`, one stage per line")
        if len(name) > MAX_DISPLAY_NAME_LENGTH:
            raise ValueError(f"{line!r}: a stage name has at most {MAX_DISPLAY_NAME_LENGTH} characters")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise ValueError(f"{line!r}: a stage description has at most {MAX_DESCRIPTION_LENGTH} characters")
        specs.append(StageSpec(name, description or None))
    if not MIN_STAGES <= len(specs) <= MAX_STAGES:
        raise ValueError(
            f"a deployment pipeline has {MIN_STAGES} to {MAX_STAGES} stages, got {len(specs)}: one per line"
        )
    # Case-insensitively, because every fabric-ci input finds a stage by name whatever its case.
    if duplicate := _first_duplicate([spec.name for spec in specs]):
        raise ValueError(f"stage names must differ (case-insensitively), got {duplicate[0]!r} and {duplicate[1]!r}")
    return tuple(specs)


def parse_stage_names(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    return tuple(_lines(value))


def parse_stage_workspaces(value: object) -> tuple[tuple[str, str], ...]:
    """`stage: workspace id` lines -> (stage name, workspace id) pairs."""
    if isinstance(value, tuple):
        return value
    pairs = []
    for line in _lines(value):
        stage, _, workspace = (part.strip() for part in line.rpartition(":"))
        if not stage or not is_guid(workspace):
            raise ValueError(
                f"{line!r}: expected `stage: workspace id` (a GUID), one stage per line, such as "
                "`Development: 00000000-0000-0000-0000-000000000000`"
            )
        pairs.append((stage, str(uuid.UUID(workspace))))
    if duplicate := _first_duplicate([stage for stage, _ in pairs]):
        raise ValueError(f"stage {duplicate[1]!r} is given more than once")
    # A workspace can be assigned to one stage only.
    if duplicate := _first_duplicate([workspace for _, workspace in pairs]):
        raise ValueError(f"workspace {duplicate[1]} is given for two stages; a workspace can be in one stage only")
    return tuple(pairs)


class CreatePipelineInputs(Inputs):
    """Create a deployment pipeline with its stages, and assign workspaces to them."""

    # The new pipeline's display name (never an id: there is none yet).
    pipeline: Annotated[str, BeforeValidator(parse_display_name)]  # type: ignore[assignment]
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH)] | None = None
    stages: Annotated[tuple[StageSpec, ...], BeforeValidator(parse_stages)] | None = None  # None: DEFAULT_STAGES
    public_stages: Annotated[tuple[str, ...], BeforeValidator(parse_stage_names)] | None = None  # Fabric only
    workspaces: Annotated[tuple[tuple[str, str], ...], BeforeValidator(parse_stage_workspaces)] | None = None

    @property
    def stage_specs(self) -> tuple[StageSpec, ...]:
        """The stages to create: as given, or Development, Test and Production."""
        return self.stages or DEFAULT_STAGES

    def _stage_name(self, name: str) -> str | None:
        """The `stages` spelling of a stage name given in another input, or None when it is not a stage."""
        return next((s.name for s in self.stage_specs if s.name.lower() == name.lower()), None)

    @property
    def public_stage_names(self) -> frozenset[str] | None:
        """The stages to make public (`stages` spelling); None: public-stages not given."""
        if self.public_stages is None:
            return None
        return frozenset(name for given in self.public_stages if (name := self._stage_name(given)))

    @property
    def stage_workspaces(self) -> dict[str, str]:
        """Stage name (`stages` spelling) -> the workspace id to assign to it."""
        pairs = self.workspaces or ()
        return {name: workspace for given, workspace in pairs if (name := self._stage_name(given))}

    def problems(self) -> list[InputError]:
        errors = super().problems()
        known = ", ".join(s.name for s in self.stage_specs)
        for name in self.public_stages or ():
            if self._stage_name(name) is None:
                errors.append(InputError("public-stages", f"{name!r} is not one of the stages: {known}"))
        for name, _ in self.workspaces or ():
            if self._stage_name(name) is None:
                errors.append(InputError("workspaces", f"{name!r} is not one of the stages: {known}"))
        fixed = self.profile.fixed_stages
        if fixed is not None and self.stages:
            if [s.name.lower() for s in self.stages] != [name.lower() for name in fixed]:
                errors.append(
                    InputError(
                        "stages",
                        f"{self.profile.title} creates its own three stages, {', '.join(fixed)}: leave stages "
                        f"empty or give exactly those, in that order (got {', '.join(s.name for s in self.stages)});"
                        " other stages need api: fabric",
                    )
                )
            elif any(s.description for s in self.stages):
                errors.append(
                    InputError(
                        "stages",
                        f"{self.profile.title} takes no stage descriptions: remove them, or set api: fabric",
                    )
                )
        return errors


class DeletePipelineInputs(Inputs):
    """Delete a deployment pipeline (its workspaces stay, unassigned)."""


class UpdateStageInputs(Inputs):
    """Rename a stage, change its description or whether it is public (the Fabric API only)."""

    stage_inputs: ClassVar[tuple[str, ...]] = ("stage",)

    stage: Annotated[StageSelector, BeforeValidator(parse_stage)]
    display_name: Annotated[str, Field(min_length=1, max_length=MAX_DISPLAY_NAME_LENGTH)] | None = None
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH)] | None = None
    public: Bool | None = None

    @field_validator("display_name", "description", mode="after")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        # Runners trim every input already; the command line does not, and a stage named " Test" is a typo.
        return value.strip() if value is not None else None

    def problems(self) -> list[InputError]:
        errors = super().problems()
        if self.api != "fabric":
            # The Power BI API has no stage update: its three stages are fixed (Pipelines_* in its spec).
            errors.append(
                InputError(
                    "api",
                    f"update-stage needs the Fabric API (api: fabric): {self.profile.title} cannot rename a stage "
                    "or change its description or public flag",
                )
            )
        if self.display_name is None and self.description is None and self.public is None:
            errors.append(
                InputError("display-name", "give at least one of display-name, description and public to change")
            )
        if self.display_name == "":
            errors.append(InputError("display-name", "must not be blank"))
        return errors


class PrincipalInputs(Inputs):
    """What add-user and remove-user share: a principal, on a pipeline, a workspace, or both."""

    pipeline: Annotated[PipelineSelector, BeforeValidator(parse_pipeline)] | None = None  # type: ignore[assignment]
    principal: Annotated[str, BeforeValidator(parse_principal)]
    principal_type: PrincipalType

    # The verb for "required unless workspace is given: <command> <verb> a pipeline, a workspace, or both".
    where_verb: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _principal_type_spellings(cls, data: Any) -> Any:
        # Accept `group`, `servicePrincipal` or Power BI's `App`: each is unambiguous.
        return _canonical_spelling(data, "principal-type", PrincipalType, PRINCIPAL_TYPE_ALIASES)

    @property
    def who(self) -> PrincipalRef:
        return PrincipalRef(id=self.principal, type=self.principal_type)

    def problems(self) -> list[InputError]:
        errors = super().problems()
        # Each command declares `workspace` itself, after its own inputs, so that each keeps its order.
        workspace = getattr(self, "workspace", None)
        if self.pipeline is None and workspace is None:
            where = f"{self.where_verb} a pipeline, a workspace, or both"
            errors.append(InputError("pipeline", f"required unless workspace is given: {where}"))
        if self.principal_type not in self.profile.principal_types:
            errors.append(
                InputError(
                    "principal-type",
                    f"{self.profile.title} takes {', '.join(self.profile.principal_types)}, not {self.principal_type}",
                )
            )
        if is_guid(self.principal) and self.principal_type == "User" and self.profile.accepts_upn:
            # The Power BI API lists users by UPN only: an object id could never be found there, so
            # fabric-ci could not tell whether the user has a role.
            errors.append(
                InputError(
                    "principal",
                    f"{self.profile.title} names users by user principal name (user@contoso.com), not object id",
                )
            )
        if not is_guid(self.principal):
            if self.principal_type != "User":
                errors.append(InputError("principal", f"a {self.principal_type} is named by its object id (a GUID)"))
            elif not self.profile.accepts_upn:
                errors.append(
                    InputError(
                        "principal",
                        f"{self.profile.title} takes object ids, not user principal names: give the user's object "
                        "id, or set api: powerbi",
                    )
                )
        return errors


def _canonical_spelling(data: Any, name: str, kind: Any, aliases: dict[str, str]) -> Any:
    """`data` with input `name` spelled as one of the Literal `kind`'s values, whatever its case."""
    if not isinstance(data, dict):
        return data
    given = data.get(name)
    if isinstance(given, str):
        wanted = aliases.get(given.strip().lower(), given).strip().lower()
        for canonical in get_args(kind):
            if canonical.lower() == wanted:
                return {**data, name: canonical}
    return data


class AddUserInputs(PrincipalInputs):
    """Give a user, group or service principal a role on a pipeline, a workspace, or both."""

    where_verb: ClassVar[str] = "add-user adds to"

    role: Literal["Admin"] = "Admin"
    admin: Bool | None = None  # Power BI API only: as a tenant admin, through the admin API
    workspace: Guid | None = None
    workspace_role: WorkspaceRole | None = None
    # A principal holding a higher workspace role keeps it unless allow-downgrade is true; the
    # signed-in principal's own Admin role is lowered only with force as well (a lock-out).
    allow_downgrade: Bool = False
    force: Bool = False

    @model_validator(mode="before")
    @classmethod
    def _workspace_role_spellings(cls, data: Any) -> Any:
        return _canonical_spelling(data, "workspace-role", WorkspaceRole, {})

    def problems(self) -> list[InputError]:
        errors = super().problems()
        if self.workspace is not None and self.workspace_role is None:
            errors.append(InputError("workspace-role", "required with workspace: " + ", ".join(WORKSPACE_ROLES)))
        if self.workspace_role is not None and self.workspace is None:
            errors.append(InputError("workspace", "required with workspace-role: the workspace's id"))
        if self.admin and self.pipeline is None:
            errors.append(InputError("admin", "applies to the pipeline, and no pipeline is given"))
        if self.allow_downgrade and self.workspace is None:
            errors.append(
                InputError(
                    "allow-downgrade",
                    "applies to a workspace role, and no workspace is given (a deployment pipeline has one role, "
                    "Admin, which cannot be lowered)",
                )
            )
        if self.force and not self.allow_downgrade:
            errors.append(
                InputError(
                    "force",
                    "only lets allow-downgrade lower the signed-in principal's own Admin role, and allow-downgrade "
                    "is not true: set allow-downgrade: true as well, or remove force",
                )
            )
        return errors


class RemoveUserInputs(PrincipalInputs):
    """Take a user's, group's or service principal's role off a pipeline, a workspace, or both."""

    where_verb: ClassVar[str] = "remove-user removes from"

    workspace: Guid | None = None
    # The signed-in principal's own Admin role is removed only with force: it would lock fabric-ci out.
    force: Bool = False


class WaitInputs(Inputs):
    """Wait for a deployment started earlier, by its operation id."""

    operation_id: Guid
    timeout: Duration = parse_duration(DEFAULT_TIMEOUT)


# --- the read-only commands: what there is, and how a deployment stands ------------------------------

# Both APIs keep a pipeline's 20 most recent operations (Fabric's List Deployment Pipeline
# Operations, Power BI's Get Pipeline Operations): a longer history cannot be asked for.
MAX_HISTORY = 20
DEFAULT_HISTORY = 10


def parse_limit(value: object) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_HISTORY:
        raise ValueError(
            f"expected a whole number from 1 to {MAX_HISTORY} (the service keeps a pipeline's {MAX_HISTORY} most "
            f"recent deployments), got {value!r}"
        )
    return int(text)


class ListPipelinesInputs(Inputs):
    """List the deployment pipelines the principal can see."""

    # It lists them all: no pipeline is named.
    pipeline: Annotated[None, Field(exclude=True)] = None  # type: ignore[assignment]


class ShowPipelineInputs(Inputs):
    """A pipeline's stages, their workspaces and (with items) what each stage holds."""

    items: Bool = False


class HistoryInputs(Inputs):
    """A pipeline's recent deployments, newest first."""

    limit: Annotated[int, BeforeValidator(parse_limit)] = DEFAULT_HISTORY


class StatusInputs(Inputs):
    """One deployment's state, read once: no waiting."""

    operation_id: Guid


def input_names(model: type[Inputs]) -> list[str]:
    """The runner-facing names of a model's inputs, in declaration order."""
    # An excluded field is one a command does not take (deploy-many's `pipeline`: its entries').
    return [field.alias or name for name, field in model.model_fields.items() if not field.exclude]


# --- errors ----------------------------------------------------------------------------------------

_EXPECTED = {
    "auth": "one of auto, secret, certificate, oidc, managed-identity, user-password",
    "api": "fabric or powerbi",
    "workspace-role": "one of " + ", ".join(WORKSPACE_ROLES),
    "cloud": "one of public, usgov, usgovhigh, usgovdod, china",
    "principal-type": "one of User, Group, ServicePrincipal (App), ServicePrincipalProfile",
    "role": "Admin (the only deployment-pipeline role)",
    "plan-compare": "none or definitions",
    "on-failure": "one of skip-dependents, stop, continue",
}


def _message(error: dict[str, Any], name: str, raw: dict[str, str]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required and not supplied"
    # extra_forbidden: an unknown name; none_required: a base input this command excludes (list-pipelines'
    # and deploy-many's pipeline).
    if kind in ("extra_forbidden", "none_required"):
        return "is not an input of this command"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "string_too_long" and name == "note":
        return (
            f"must be at most {MAX_NOTE_LENGTH} characters, got {len(error['input'])}: the service keeps 1024, and "
            "fabric-ci adds a 21-character run marker that recognises the deployment if its answer is lost"
        )
    if kind == "string_too_long":
        return f"must be at most {error['ctx']['max_length']} characters"
    if name in _EXPECTED:
        # The value as given: a validator may have changed it (auth, api and cloud are lower-cased),
        # and a changed echo of a secret pasted here would escape every mask of it.
        return f"expected {_EXPECTED[name]}, got {raw.get(name, error.get('input'))!r}"
    return str(error["msg"])


M = TypeVar("M", bound=Inputs)


def parse_inputs(model: type[M], raw: dict[str, str]) -> M:
    """Validate raw runner strings; raise InputErrors naming every bad input at once."""
    try:
        inputs = model.model_validate(raw)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "inputs"
            errors.append(InputError(name, _message(dict(error), name, raw)))
        named = {error.input_name for error in errors}
        auth = str(raw.get("auth", "auto")).strip().lower()
        errors += [gap for gap in sign_in_gaps(auth, set(raw)) if gap.input_name not in named]
        raise InputErrors(errors) from None
    problems = inputs.problems()
    if problems:
        raise InputErrors(problems)
    return inputs
