"""The add-user operation with a fake client: roles are raised, kept, or lowered only when asked."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest

from fabric_ci.auth.token import token_principal as signed_in_principal
from fabric_ci.emulator.seed import SERVICE_PRINCIPAL_ID
from fabric_ci.emulator.state import TenantState
from fabric_ci.errors import InputError
from fabric_ci.models.inputs import AddUserInputs, parse_inputs
from fabric_ci.models.resources import Member, PipelineWithStages, PrincipalRef
from fabric_ci.models.results import AddUserResult
from fabric_ci.operations.add_user import add_user

PIPELINE_ID = "a5ded933-57b7-41f4-b072-ed4c1f9d5824"
WORKSPACE = "0086393a-7234-43f6-8dfd-a6f7d79a41a4"
ME = "79f8bce5-f6a7-4c4d-bff7-e09cd25fb551"  # the service principal fabric-ci signs in as
OTHER = "d2056166-041c-4a56-8d37-ea90038bc0d6"
PIPELINE = PipelineWithStages.model_validate(
    {"id": PIPELINE_ID, "displayName": "Sales", "stages": [{"id": "s0", "order": 0, "displayName": "Dev"}]}
)


class FakeClient:
    """Just enough of a PipelinesClient: members per pipeline and workspace, and every write recorded."""

    def __init__(self, workspace: dict[str, tuple[str, str]], pipeline: dict[str, tuple[str, str]] | None = None):
        # principal id -> (principal type, role)
        self.workspace = dict(workspace)
        self.pipeline = dict(pipeline or {})
        self.writes: list[tuple[str, str, str]] = []

    def get_pipeline(self, _pipeline_id: str) -> PipelineWithStages:
        return PIPELINE

    def list_pipeline_members(self, _pipeline_id: str) -> list[Member]:
        return _members(self.pipeline)

    def add_pipeline_member(self, _pipeline_id: str, principal: PrincipalRef, role: str) -> None:
        self.writes.append(("add_pipeline_member", principal.id, role))
        self.pipeline[principal.id] = (principal.type, role)

    def list_workspace_members(self, _workspace_id: str) -> list[Member]:
        return _members(self.workspace)

    def add_workspace_member(self, _workspace_id: str, principal: PrincipalRef, role: str) -> None:
        self.writes.append(("add_workspace_member", principal.id, role))
        self.workspace[principal.id] = (principal.type, role)

    def change_workspace_role(self, _workspace_id: str, member: Member, role: str) -> None:
        self.writes.append(("change_workspace_role", member.principal_id, role))
        self.workspace[member.principal_id] = (member.principal_type, role)


def _members(table: dict[str, tuple[str, str]]) -> list[Member]:
    return [Member(principal_id=pid, principal_type=kind, role=role) for pid, (kind, role) in table.items()]


class RecordingReporter:
    def __init__(self) -> None:
        self.infos: list[str] = []
        self.notices: list[str] = []
        self.warnings: list[str] = []
        self.debugs: list[str] = []

    def phase(self, _title: str) -> Any:
        return contextlib.nullcontext()

    def info(self, message: str) -> None:
        self.infos.append(message)

    def debug(self, message: str) -> None:
        self.debugs.append(message)

    def notice(self, message: str) -> None:
        self.notices.append(message)

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def mask(self, _secret: str) -> None: ...
    def progress(self, _progress: Any) -> None: ...
    def deployment_accepted(self, _operation_id: str) -> None: ...


SIGN_IN = {"tenant-id": "contoso.com", "client-id": OTHER, "client-secret": "x"}


def inputs(principal: str, principal_type: str, role: str, **extra: str) -> AddUserInputs:
    raw = {
        **SIGN_IN,
        "principal": principal,
        "principal-type": principal_type,
        "workspace": WORKSPACE,
        "workspace-role": role,
    }
    return parse_inputs(AddUserInputs, {**raw, **extra})


def run(
    given: AddUserInputs, client: FakeClient, signed_in: str | None = ME
) -> tuple[AddUserResult, RecordingReporter]:
    reporter = RecordingReporter()
    return add_user(given, client, reporter, signed_in=signed_in), reporter  # type: ignore[arg-type]


# -- a principal holding a higher role keeps it unless allow-downgrade says otherwise ---------------------


def test_a_higher_role_is_kept_with_a_notice() -> None:
    """An Admin asked for Viewer stays Admin: nothing is sent, changed is false, and a notice says why."""
    client = FakeClient({OTHER: ("Group", "Admin")})
    result, reporter = run(inputs(OTHER, "Group", "Viewer"), client)
    assert client.writes == []
    assert result.outputs()["changed"] == "false"
    assert result.outputs()["workspace-role"] == "Admin"
    assert reporter.notices == [
        f"Group {OTHER} keeps Admin on workspace {WORKSPACE}; asked for Viewer, which is lower: "
        "set allow-downgrade: true to lower it."
    ]


@pytest.mark.parametrize(("held", "asked"), [("Admin", "Member"), ("Member", "Contributor"), ("Contributor", "Viewer")])
def test_each_step_down_the_role_order_is_a_downgrade(held: str, asked: str) -> None:
    """Admin > Member > Contributor > Viewer: any step down is kept without allow-downgrade."""
    client = FakeClient({OTHER: ("User", held)})
    result, _ = run(inputs(OTHER, "User", asked), client)
    assert client.writes == []
    assert result.workspace is not None
    assert result.workspace.role == held


def test_the_service_principals_own_admin_role_is_kept_without_allow_downgrade() -> None:
    """Asked to make itself Viewer, the signed-in principal keeps Admin: a notice, not an error."""
    client = FakeClient({ME: ("ServicePrincipal", "Admin")})
    result, reporter = run(inputs(ME, "ServicePrincipal", "Viewer"), client)
    assert client.writes == []
    assert result.outputs()["changed"] == "false"
    assert "keeps Admin" in reporter.notices[0]


def test_allow_downgrade_lowers_another_principals_role() -> None:
    """With allow-downgrade: true, another principal's Admin becomes Viewer."""
    client = FakeClient({OTHER: ("Group", "Admin")})
    result, reporter = run(inputs(OTHER, "Group", "Viewer", **{"allow-downgrade": "true"}), client)
    assert client.writes == [("change_workspace_role", OTHER, "Viewer")]
    assert (result.outputs()["workspace-role"], result.outputs()["changed"]) == ("Viewer", "true")
    assert reporter.infos == [f"Group {OTHER} was moved from Admin to Viewer on workspace {WORKSPACE}"]


# -- the signed-in principal's own Admin role ------------------------------------------------------------


def test_lowering_the_signed_in_principals_own_admin_role_is_refused_without_force() -> None:
    """allow-downgrade alone does not lower the signed-in principal's Admin: an input error naming force."""
    client = FakeClient({ME: ("ServicePrincipal", "Admin")})
    with pytest.raises(InputError) as refused:
        run(inputs(ME, "ServicePrincipal", "Viewer", **{"allow-downgrade": "true"}), client)
    assert refused.value.input_name == "force"
    assert refused.value.exit_code == 2
    assert "signed in as" in str(refused.value)
    assert "lock" in str(refused.value)
    assert client.writes == []


def test_the_refusal_comes_before_the_pipeline_is_changed() -> None:
    """With a pipeline as well, nothing at all is written when the workspace part is refused."""
    client = FakeClient({ME: ("ServicePrincipal", "Admin")}, pipeline={})
    given = inputs(ME, "ServicePrincipal", "Viewer", pipeline=PIPELINE_ID, **{"allow-downgrade": "true"})
    with pytest.raises(InputError):
        run(given, client)
    assert client.writes == []


def test_force_lowers_the_signed_in_principals_own_admin_role() -> None:
    """allow-downgrade and force together lower the signed-in principal's Admin, with a warning."""
    client = FakeClient({ME: ("ServicePrincipal", "Admin")})
    given = inputs(ME, "ServicePrincipal", "Viewer", **{"allow-downgrade": "true", "force": "true"})
    result, reporter = run(given, client)
    assert client.writes == [("change_workspace_role", ME, "Viewer")]
    assert result.outputs()["workspace-role"] == "Viewer"
    assert any("signed in as" in w for w in reporter.warnings)


def test_the_principal_is_recognised_whatever_the_case_of_its_id() -> None:
    """Object ids compare case-insensitively, as the service compares them."""
    client = FakeClient({ME: ("ServicePrincipal", "Admin")})
    with pytest.raises(InputError):
        run(inputs(ME, "ServicePrincipal", "Member", **{"allow-downgrade": "true"}), client, signed_in=ME.upper())


def test_a_user_signed_in_with_a_password_is_recognised_by_its_user_principal_name() -> None:
    """With the Power BI API a user is listed by UPN: the username that signed in is the same principal."""
    client = FakeClient({"deployer@contoso.com": ("User", "Admin")})
    given = parse_inputs(
        AddUserInputs,
        {
            "tenant-id": "contoso.com",
            "client-id": OTHER,
            "username": "Deployer@contoso.com",
            "password": "x",
            "api": "powerbi",
            "principal": "deployer@contoso.com",
            "principal-type": "User",
            "workspace": WORKSPACE,
            "workspace-role": "Viewer",
            "allow-downgrade": "true",
        },
    )
    with pytest.raises(InputError, match="force"):
        run(given, client, signed_in="f4eaa7b8-9d17-4e22-80d2-3169220c95d1")


def test_when_the_signed_in_principal_is_unknown_a_service_principals_admin_role_needs_force() -> None:
    """Without the token's oid, fabric-ci cannot rule out lowering its own Admin role, so force is needed."""
    client = FakeClient({OTHER: ("ServicePrincipal", "Admin")})
    with pytest.raises(InputError) as refused:
        run(inputs(OTHER, "ServicePrincipal", "Viewer", **{"allow-downgrade": "true"}), client, signed_in=None)
    assert refused.value.input_name == "force"
    assert "cannot tell" in str(refused.value)


def test_when_the_signed_in_principal_is_unknown_a_groups_admin_role_is_lowered() -> None:
    """A group is never the principal fabric-ci signs in as: allow-downgrade is enough."""
    client = FakeClient({OTHER: ("Group", "Admin")})
    run(inputs(OTHER, "Group", "Viewer", **{"allow-downgrade": "true"}), client, signed_in=None)
    assert client.writes == [("change_workspace_role", OTHER, "Viewer")]


def test_another_service_principals_admin_role_is_lowered_when_the_signed_in_one_is_known() -> None:
    """Knowing who is signed in, another service principal's Admin is lowered with allow-downgrade alone."""
    client = FakeClient({OTHER: ("ServicePrincipal", "Admin")})
    run(inputs(OTHER, "ServicePrincipal", "Viewer", **{"allow-downgrade": "true"}), client)
    assert client.writes == [("change_workspace_role", OTHER, "Viewer")]


# -- what did not change -----------------------------------------------------------------------------------


def test_an_equal_role_is_unchanged() -> None:
    """A principal that already holds the role is a success with a notice, and nothing is sent."""
    client = FakeClient({OTHER: ("Group", "Contributor")})
    result, reporter = run(inputs(OTHER, "Group", "Contributor", **{"allow-downgrade": "true"}), client)
    assert client.writes == []
    assert result.outputs()["changed"] == "false"
    assert reporter.notices == [f"Group {OTHER} already was Contributor of workspace {WORKSPACE}."]


def test_a_lower_role_is_raised_as_before() -> None:
    """A Viewer asked for Contributor is moved up without any new input."""
    client = FakeClient({OTHER: ("Group", "Viewer")})
    result, _ = run(inputs(OTHER, "Group", "Contributor"), client)
    assert client.writes == [("change_workspace_role", OTHER, "Contributor")]
    assert result.outputs()["changed"] == "true"


def test_the_signed_in_principal_may_raise_its_own_role() -> None:
    """Only lowering is guarded: the signed-in principal moved up from Member to Admin is not refused."""
    client = FakeClient({ME: ("ServicePrincipal", "Member")})
    run(inputs(ME, "ServicePrincipal", "Admin"), client)
    assert client.writes == [("change_workspace_role", ME, "Admin")]


def test_a_new_principal_is_added_with_the_role_asked_for() -> None:
    """A principal without a role is added, even as Viewer: nothing is lowered."""
    client = FakeClient({})
    result, _ = run(inputs(OTHER, "Group", "Viewer"), client)
    assert client.writes == [("add_workspace_member", OTHER, "Viewer")]
    assert result.outputs()["changed"] == "true"


# -- who is signed in ----------------------------------------------------------------------------------------


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.signature"


def test_the_signed_in_principal_is_the_access_tokens_oid_claim() -> None:
    """The object id comes from the token's oid claim, read without verifying the signature."""
    assert signed_in_principal(_jwt({"oid": ME.upper(), "tid": "t"})) == ME


@pytest.mark.parametrize("token", ["opaque-token", _jwt({"sub": "x"}), _jwt({"oid": "not-a-guid"})])
def test_a_token_without_a_usable_oid_names_nobody(token: str) -> None:
    """An opaque token, or one without a GUID oid, leaves the signed-in principal unknown."""
    assert signed_in_principal(token) is None


def test_the_emulators_tokens_name_its_service_principal() -> None:
    """Like Entra's, the emulator's access tokens carry the principal's object id in oid."""
    state = TenantState()
    token, _ = state.issue_token()
    assert signed_in_principal(token) == SERVICE_PRINCIPAL_ID
    assert state.token_status(token) == "valid"
    assert state.caller(f"Bearer {token}") == SERVICE_PRINCIPAL_ID
