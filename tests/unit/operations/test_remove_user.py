"""The remove-user operation with a fake client: roles are taken off, a missing one is a notice, the
signed-in principal's own Admin role only with force, and each delete sent once unless a re-read
proves it did not act."""

from __future__ import annotations

import pytest

from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import ErrorDetails, FabricCiError, ForbiddenError, InputError, InputErrors, NotFoundError
from fabric_ci.models.inputs import RemoveUserInputs, parse_inputs
from fabric_ci.models.resources import Member, PipelineWithStages
from fabric_ci.models.results import RemoveUserResult
from fabric_ci.operations.principals import MAYBE_SIGNED_IN, SIGNED_IN
from fabric_ci.operations.remove_user import remove_user

from .test_add_user import ME, OTHER, PIPELINE, PIPELINE_ID, SIGN_IN, WORKSPACE, RecordingReporter

GROUP = "5dba60b0-d9a7-42a3-b12c-6d9d51e7739a"


class FakeClient:
    """Members per pipeline and workspace (principal id -> (type, role)); every delete recorded. `fail`
    raises one error per delete, in order, after (`acts`) or before the delete takes effect."""

    def __init__(
        self,
        workspace: dict[str, tuple[str, str]] | None = None,
        pipeline: dict[str, tuple[str, str]] | None = None,
        fail: list[tuple[FabricCiError, bool]] | None = None,
    ) -> None:
        self.workspace = dict(workspace or {})
        self.pipeline = dict(pipeline or {})
        self.fail = list(fail or [])
        self.deletes: list[tuple[str, str]] = []
        self.reads = 0

    def list_pipelines(self) -> list[PipelineWithStages]:
        return [PIPELINE]

    def get_pipeline(self, _pipeline_id: str) -> PipelineWithStages:
        return PIPELINE

    def list_pipeline_members(self, _pipeline_id: str) -> list[Member]:
        self.reads += 1
        return _members(self.pipeline)

    def list_workspace_members(self, _workspace_id: str) -> list[Member]:
        self.reads += 1
        return _members(self.workspace, assignment_ids=True)

    def remove_pipeline_member(self, pipeline_id: str, member: Member) -> None:
        assert pipeline_id == PIPELINE_ID
        self._delete("pipeline", self.pipeline, member.principal_id)

    def remove_workspace_member(self, workspace_id: str, member: Member) -> None:
        assert workspace_id == WORKSPACE
        assert member.assignment_id == f"ra-{member.principal_id}"  # the listing's, handed back
        self._delete("workspace", self.workspace, member.principal_id)

    def _delete(self, kind: str, table: dict[str, tuple[str, str]], principal_id: str) -> None:
        self.deletes.append((kind, principal_id))
        error, acts = self.fail.pop(0) if self.fail else (None, True)
        if acts:
            table.pop(principal_id, None)
        if error:
            raise error


def _members(table: dict[str, tuple[str, str]], *, assignment_ids: bool = False) -> list[Member]:
    return [
        Member(principal_id=pid, principal_type=kind, role=role, assignment_id=f"ra-{pid}" if assignment_ids else None)
        for pid, (kind, role) in table.items()
    ]


def inputs(principal: str, principal_type: str, **extra: str) -> RemoveUserInputs:
    raw = {**SIGN_IN, "principal": principal, "principal-type": principal_type}
    return parse_inputs(RemoveUserInputs, {**raw, **extra})


def run(
    given: RemoveUserInputs, client: FakeClient, signed_in: str | None = ME
) -> tuple[RemoveUserResult, RecordingReporter]:
    reporter = RecordingReporter()
    return remove_user(given, client, reporter, signed_in=signed_in), reporter  # type: ignore[arg-type]


LOST = AmbiguousResponse("DELETE .../roleAssignments/x: the connection broke", RuntimeError("reset"))
GONE = NotFoundError(ErrorDetails(404, "EntityNotFound", "Principal has no role in deployment pipeline 'Sales'."))


# -- removing, and finding nothing to remove -----------------------------------------------------------------


def test_a_member_of_both_is_removed_from_the_pipeline_and_the_workspace() -> None:
    """One delete each, the roles taken off in the outputs, changed true, and what was done said."""
    client = FakeClient(workspace={GROUP: ("Group", "Contributor")}, pipeline={GROUP: ("Group", "Admin")})
    result, reporter = run(inputs(GROUP, "group", pipeline=PIPELINE_ID, workspace=WORKSPACE), client)
    assert client.deletes == [("pipeline", GROUP), ("workspace", GROUP)]
    assert result.outputs() == {
        "pipeline-id": PIPELINE_ID,
        "principal": GROUP,
        "removed-role": "Admin",
        "workspace-id": WORKSPACE,
        "removed-workspace-role": "Contributor",
        "changed": "true",
    }
    assert reporter.infos == [
        f"Group {GROUP} was removed from pipeline 'Sales', where it was Admin",
        f"Group {GROUP} was removed from workspace {WORKSPACE}, where it was Contributor",
    ]
    assert reporter.warnings == []


def test_a_principal_without_a_role_is_a_notice_and_no_request() -> None:
    """Nothing to remove on either: no delete, changed false, empty removed roles, a notice for each."""
    client = FakeClient(workspace={ME: ("ServicePrincipal", "Admin")}, pipeline={ME: ("ServicePrincipal", "Admin")})
    result, reporter = run(inputs(GROUP, "Group", pipeline=PIPELINE_ID, workspace=WORKSPACE), client)
    assert client.deletes == []
    assert result.outputs()["changed"] == "false"
    assert (result.outputs()["removed-role"], result.outputs()["removed-workspace-role"]) == ("", "")
    assert reporter.notices == [
        f"Group {GROUP} had no role on pipeline 'Sales'; nothing to remove.",
        f"Group {GROUP} had no role on workspace {WORKSPACE}; nothing to remove.",
    ]


def test_only_the_workspace_is_touched_without_pipeline() -> None:
    """workspace alone: the pipeline is neither read nor written, and pipeline-id is empty."""
    client = FakeClient(workspace={OTHER: ("User", "Viewer")}, pipeline={OTHER: ("User", "Admin")})
    result, _ = run(inputs(OTHER, "User", workspace=WORKSPACE), client)
    assert client.deletes == [("workspace", OTHER)]
    assert client.pipeline == {OTHER: ("User", "Admin")}
    assert (result.outputs()["pipeline-id"], result.outputs()["removed-workspace-role"]) == ("", "Viewer")


def test_the_principal_is_found_whatever_the_case_of_its_id() -> None:
    """The service's listing may spell the GUID in capitals: it is still the principal given."""
    client = FakeClient(pipeline={GROUP.upper(): ("Group", "Admin")})
    result, _ = run(inputs(GROUP, "Group", pipeline=PIPELINE_ID), client)
    assert client.deletes == [("pipeline", GROUP.upper())]
    assert result.outputs()["removed-role"] == "Admin"


# -- the signed-in principal's own Admin role ----------------------------------------------------------------


def test_removing_the_signed_in_principal_from_the_pipeline_is_refused_without_force() -> None:
    """An input error naming force, saying why, and nothing sent."""
    client = FakeClient(pipeline={ME: ("ServicePrincipal", "Admin")})
    with pytest.raises(InputError) as refused:
        run(inputs(ME, "ServicePrincipal", pipeline=PIPELINE_ID), client)
    assert refused.value.input_name == "force"
    message = str(refused.value)
    assert f"ServicePrincipal {ME} off pipeline 'Sales'" in message
    assert SIGNED_IN in message
    assert "nor even see the pipeline" in message
    assert "Nothing was changed. Set force: true to remove it anyway" in message
    assert client.deletes == []


def test_the_refusal_comes_before_anything_is_sent() -> None:
    """Both roles are read and refused before the first delete: neither the pipeline nor the workspace changes."""
    client = FakeClient(workspace={ME: ("ServicePrincipal", "Admin")}, pipeline={ME: ("ServicePrincipal", "Admin")})
    with pytest.raises(InputError) as refused:
        run(inputs(ME, "ServicePrincipal", pipeline=PIPELINE_ID, workspace=WORKSPACE), client)
    assert refused.value.input_name == "force"
    assert client.deletes == []
    assert client.pipeline == client.workspace == {ME: ("ServicePrincipal", "Admin")}


def test_a_workspace_refusal_leaves_the_pipeline_alone() -> None:
    """The pipeline role (an odd Viewer, which locks nothing out) would go on its own, but the workspace
    refusal is raised while planning, before it: no delete at all."""
    client = FakeClient(workspace={ME: ("ServicePrincipal", "Admin")}, pipeline={ME: ("ServicePrincipal", "Viewer")})
    with pytest.raises(InputError) as refused:
        run(inputs(ME, "ServicePrincipal", pipeline=PIPELINE_ID, workspace=WORKSPACE), client)
    assert f"off workspace {WORKSPACE}" in str(refused.value)
    assert client.deletes == []


def test_force_removes_the_signed_in_principals_admin_role_with_a_warning() -> None:
    """With force the role goes, after a warning that only another Admin can undo it."""
    client = FakeClient(workspace={ME: ("ServicePrincipal", "Admin")})
    result, reporter = run(inputs(ME, "ServicePrincipal", workspace=WORKSPACE, force="true"), client)
    assert client.deletes == [("workspace", ME)]
    assert result.outputs()["removed-workspace-role"] == "Admin"
    (warning,) = reporter.warnings
    assert warning.startswith(f"Removing the Admin role of ServicePrincipal {ME} from workspace {WORKSPACE}")
    assert "only another Admin of the workspace can undo this" in warning


def test_the_signed_in_principals_lower_workspace_role_is_removed_without_force() -> None:
    """Only Admin can change roles, so removing a Member role locks nothing out: no force needed."""
    client = FakeClient(workspace={ME: ("ServicePrincipal", "Member")})
    result, reporter = run(inputs(ME, "ServicePrincipal", workspace=WORKSPACE), client)
    assert client.deletes == [("workspace", ME)]
    assert result.outputs()["changed"] == "true"
    assert reporter.warnings == []


def test_a_user_signed_in_with_a_password_is_recognised_by_its_user_principal_name() -> None:
    """With api: powerbi a user is named by UPN, the name it signs in with: that is itself, whatever the case."""
    client = FakeClient(pipeline={"deployer@contoso.com": ("User", "Admin")})
    sign_in = {"tenant-id": "contoso.com", "client-id": OTHER, "username": "Deployer@contoso.com", "password": "p"}
    given = parse_inputs(
        RemoveUserInputs,
        {**sign_in, "api": "powerbi", "principal": "deployer@contoso.com", "principal-type": "User",
         "pipeline": PIPELINE_ID},
    )  # fmt: skip
    with pytest.raises(InputError) as refused:
        run(given, client, signed_in=None)
    assert SIGNED_IN in str(refused.value)
    assert client.deletes == []


def test_when_the_signed_in_principal_is_unknown_a_service_principals_admin_role_needs_force() -> None:
    """No oid in the token: any service principal may be fabric-ci itself, so force is asked for."""
    client = FakeClient(pipeline={OTHER: ("ServicePrincipal", "Admin")})
    with pytest.raises(InputError) as refused:
        run(inputs(OTHER, "ServicePrincipal", pipeline=PIPELINE_ID), client, signed_in=None)
    assert MAYBE_SIGNED_IN in str(refused.value)


def test_another_service_principal_is_removed_when_the_signed_in_one_is_known() -> None:
    """A known signed-in principal that is not this one: removed without force."""
    client = FakeClient(pipeline={OTHER: ("ServicePrincipal", "Admin"), ME: ("ServicePrincipal", "Admin")})
    result, _ = run(inputs(OTHER, "ServicePrincipal", pipeline=PIPELINE_ID), client)
    assert client.deletes == [("pipeline", OTHER)]
    assert client.pipeline == {ME: ("ServicePrincipal", "Admin")}
    assert result.outputs()["changed"] == "true"


# -- lost answers and 404s ---------------------------------------------------------------------------------


def test_a_lost_answer_after_the_delete_acted_is_not_sent_again() -> None:
    """The answer is lost, a re-read shows the principal gone: it acted; one delete, a debug line."""
    client = FakeClient(pipeline={GROUP: ("Group", "Admin")}, fail=[(LOST, True)])
    result, reporter = run(inputs(GROUP, "Group", pipeline=PIPELINE_ID), client)
    assert client.deletes == [("pipeline", GROUP)]
    assert result.outputs()["changed"] == "true"
    assert any("answer to the delete was lost" in d and "the request acted" in d for d in reporter.debugs)


def test_a_lost_answer_before_the_delete_acted_sends_it_once_more() -> None:
    """Still there after the lost answer: the delete did not act, and is sent a second (and last) time."""
    client = FakeClient(workspace={GROUP: ("Group", "Viewer")}, fail=[(LOST, False)])
    result, _ = run(inputs(GROUP, "Group", workspace=WORKSPACE), client)
    assert client.deletes == [("workspace", GROUP), ("workspace", GROUP)]
    assert client.workspace == {}
    assert result.outputs()["removed-workspace-role"] == "Viewer"


def test_a_second_lost_answer_is_the_error() -> None:
    """Sent at most twice: when the second answer is lost too, the step fails rather than guess."""
    client = FakeClient(pipeline={GROUP: ("Group", "Admin")}, fail=[(LOST, False), (LOST, False)])
    with pytest.raises(AmbiguousResponse):
        run(inputs(GROUP, "Group", pipeline=PIPELINE_ID), client)
    assert len(client.deletes) == 2


class LocksOut(FakeClient):
    """The service's rule: only a member may list the members; a non-member is refused (403 or 404)."""

    def __init__(self, refusal: FabricCiError, **tables: dict[str, tuple[str, str]]) -> None:
        super().__init__(**tables, fail=[(LOST, True)])  # type: ignore[arg-type]
        self.refusal = refusal

    def list_pipeline_members(self, pipeline_id: str) -> list[Member]:
        if self.reads and ME not in self.pipeline:
            raise self.refusal
        return super().list_pipeline_members(pipeline_id)

    def list_workspace_members(self, workspace_id: str) -> list[Member]:
        if self.reads and ME not in self.workspace:
            raise self.refusal
        return super().list_workspace_members(workspace_id)


DENIED = ForbiddenError(ErrorDetails(403, "InsufficientPrivileges", "The caller has no role on the pipeline."))


@pytest.mark.parametrize("refusal", [DENIED, GONE], ids=["403", "404"])
@pytest.mark.parametrize("where", ["pipeline", "workspace"])
def test_a_lost_answer_to_removing_its_own_admin_role_and_a_refused_reread_is_done(
    refusal: FabricCiError, where: str
) -> None:
    """force: true, the answer is lost, and the re-read is refused because the principal is no longer a
    member: that refusal is the proof the delete acted; changed true, one delete, a notice saying so."""
    client = LocksOut(refusal, **{where: {ME: ("ServicePrincipal", "Admin"), OTHER: ("User", "Admin")}})
    target = {"pipeline": PIPELINE_ID} if where == "pipeline" else {"workspace": WORKSPACE}
    result, reporter = run(inputs(ME, "ServicePrincipal", **target, force="true"), client)
    assert client.deletes == [(where, ME)]
    assert result.changed is True
    assert any(
        "The answer to the delete was lost, and the service now refuses" in n and "so the request acted" in n
        for n in reporter.notices
    ), reporter.notices


def test_a_refused_reread_after_removing_someone_else_stands() -> None:
    """For another principal's role a refused re-read proves nothing: the refusal is the error."""

    class Refuses(FakeClient):
        def list_pipeline_members(self, pipeline_id: str) -> list[Member]:
            if self.deletes:
                raise DENIED
            return super().list_pipeline_members(pipeline_id)

    client = Refuses(pipeline={GROUP: ("Group", "Admin")}, fail=[(LOST, True)])
    with pytest.raises(ForbiddenError):
        run(inputs(GROUP, "Group", pipeline=PIPELINE_ID), client)
    assert len(client.deletes) == 1


def test_a_404_for_a_principal_gone_meanwhile_is_done() -> None:
    """Another job removed it between the read and the delete: the re-read confirms, a debug line says so."""
    client = FakeClient(pipeline={GROUP: ("Group", "Admin")}, fail=[(GONE, True)])
    result, reporter = run(inputs(GROUP, "Group", pipeline=PIPELINE_ID), client)
    assert client.deletes == [("pipeline", GROUP)]
    assert result.outputs()["changed"] == "true"
    assert any("answered 404" in d and "removed meanwhile" in d for d in reporter.debugs)


def test_a_404_while_the_principal_is_still_listed_stands() -> None:
    """A 404 the re-read contradicts (the principal is still there) is the service's error, reported."""
    client = FakeClient(pipeline={GROUP: ("Group", "Admin")}, fail=[(GONE, False)])
    with pytest.raises(NotFoundError):
        run(inputs(GROUP, "Group", pipeline=PIPELINE_ID), client)
    assert client.deletes == [("pipeline", GROUP)]


def test_a_refusal_is_never_second_guessed() -> None:
    """A 403 stands whatever the members show afterwards: no re-read decides it, and it is not resent."""
    refusal = ForbiddenError(ErrorDetails(403, "InsufficientPrivileges", "Only pipeline Admins may do this."))
    client = FakeClient(pipeline={GROUP: ("Group", "Admin")}, fail=[(refusal, True)])
    with pytest.raises(ForbiddenError):
        run(inputs(GROUP, "Group", pipeline=PIPELINE_ID), client)
    assert client.deletes == [("pipeline", GROUP)]
    assert client.reads == 1


# -- inputs ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "name", "expected"),
    [
        ({}, "pipeline", "remove-user removes from a pipeline, a workspace, or both"),
        ({"workspace": WORKSPACE, "force": "yes please"}, "force", "true or false"),
        ({"workspace": "not-a-guid"}, "workspace", "GUID"),
        ({"workspace": WORKSPACE, "principal": "nobody"}, "principal", "object id (a GUID) or a user principal name"),
        ({"workspace": WORKSPACE, "principal": "a@b.com", "principal-type": "Group"}, "principal", "object id"),
        ({"workspace": WORKSPACE, "principal": "a@b.com"}, "principal", "set api: powerbi"),
        ({"workspace": WORKSPACE, "api": "powerbi"}, "principal", "user principal name (user@contoso.com)"),
    ],
)
def test_bad_inputs_name_the_input(extra: dict[str, str], name: str, expected: str) -> None:
    """Each mistake is an error naming the input, before anything is read."""
    with pytest.raises(InputErrors) as raised:
        parse_inputs(RemoveUserInputs, {**SIGN_IN, "principal": OTHER, "principal-type": "User", **extra})
    errors = {e.input_name: e.message for e in raised.value.errors}
    assert name in errors, errors
    assert expected in errors[name]
