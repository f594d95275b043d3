"""The shared Markdown summary and its plain-text pieces, asserted to the byte."""

from __future__ import annotations

from fabric_ci.errors import (
    DeploymentFailed,
    DeploymentRunning,
    FabricCiError,
    InputError,
    InputErrors,
    WaitTimeout,
)
from fabric_ci.models.results import (
    AddUserResult,
    AssignWorkspaceResult,
    CreatePipelineResult,
    DeletePipelineResult,
    DeployedItem,
    Grant,
    Progress,
    Removal,
    RemoveUserResult,
    StageChange,
    UnassignWorkspaceResult,
    UpdateStageResult,
)
from fabric_ci.runners.summary import (
    SUMMARY_BUDGET_BYTES,
    format_duration,
    format_elapsed,
    headline,
    item_rows,
    md,
    progress_line,
    render_failure,
    render_summary,
)

from .builders import BROKEN, DEV, MODEL, OPERATION_ID, PIPELINE_ID, REPORT, TEST, deployment

FACTS = f"**Pipeline:** Sales analytics · **Operation:** {OPERATION_ID}"


class TestDeploymentSummary:
    def test_success(self) -> None:
        """A successful deployment shows the route in the heading, the facts, and one row per item."""
        assert render_summary(deployment()) == (
            "### ✅ Deployed Development → Test\n"
            "\n"
            f"{FACTS} · **Status:** Succeeded · **Duration:** 9s\n"
            "\n"
            "| Item | Type | Change | Result |\n"
            "| --- | --- | --- | --- |\n"
            "| Sales report | Report | New | ✅ Succeeded |\n"
            "| Sales model | SemanticModel | Different | ✅ Succeeded |\n"
        )

    def test_failure_with_failed_items(self) -> None:
        """A failed deployment lists failed items first with their escaped error, then what went wrong."""
        result = deployment(status="Failed", items=(REPORT, BROKEN))
        error = DeploymentFailed("1 of 2 items failed. Fix the item and deploy again.", result)
        assert render_summary(result, error) == (
            "### ❌ Deployment failed\n"
            "\n"
            "**Pipeline:** Sales analytics · **Stages:** Development → Test · "
            f"**Operation:** {OPERATION_ID} · **Status:** Failed · **Duration:** 9s\n"
            "\n"
            "| Item | Type | Change | Result |\n"
            "| --- | --- | --- | --- |\n"
            "| Finance, EU: model | SemanticModel | Different | ❌ Failed: Refresh failed: column "
            "&lt;Amount&gt;<br>is missing \\| see log |\n"
            "| Sales report | Report | New | ✅ Succeeded |\n"
            "\n"
            "#### What went wrong\n"
            "\n"
            "**Deployment failed.** 1 of 2 items failed. Fix the item and deploy again.\n"
        )

    def test_timeout(self) -> None:
        """A timed-out wait says the deployment was left running and how to wait for it later."""
        result = deployment(status="Running", items=(), duration_seconds=1800.0)
        error = WaitTimeout("Still running after 30m; it was left running.", result)
        assert render_summary(result, error) == (
            "### ⏳ Still running after timeout\n"
            "\n"
            "**Pipeline:** Sales analytics · **Stages:** Development → Test · "
            f"**Operation:** {OPERATION_ID} · **Status:** Running · **Duration:** 30m 00s\n"
            "\n"
            "The deployment was left running. To wait for it in a later step, use the "
            f"`wait-for-deployment` action with `operation-id: {OPERATION_ID}`.\n"
            "\n"
            "_The service reported no items for this deployment._\n"
            "\n"
            "#### What went wrong\n"
            "\n"
            "**Timed out waiting for the deployment.** Still running after 30m; it was left running.\n"
        )

    def test_not_waiting(self) -> None:
        """With wait false a running deployment is reported as started, with the way to wait later."""
        result = deployment(status="Running", items=(), duration_seconds=None, waited=False, note="Release 42")
        assert render_summary(result) == (
            "### 🚀 Deployment started Development → Test\n"
            "\n"
            f"{FACTS} · **Status:** Running\n"
            "\n"
            "**Note:** Release 42\n"
            "\n"
            "Not waiting for the deployment (`wait: false`). To wait for it later, use the "
            f"`wait-for-deployment` action with `operation-id: {OPERATION_ID}`.\n"
            "\n"
            "_The service reported no items for this deployment._\n"
        )

    def test_other_error_with_a_deployment(self) -> None:
        """An error that is neither failure nor timeout is named in the heading by its title."""
        result = deployment(status="Succeeded", items=())
        summary = render_summary(result, FabricCiError("Unexpected KeyError: 'x'."))
        assert summary.startswith("### ❌ fabric-ci failed\n")
        assert summary.endswith("#### What went wrong\n\n**fabric-ci failed.** Unexpected KeyError: 'x'.\n")

    def test_many_items_are_cut_to_the_budget(self) -> None:
        """A huge item list is cut to stay far below GitHub's 1 MiB, saying how many were left out."""
        long = DeployedItem(id="x", name="n" * 400, type="Report", diff_state="New", status="Succeeded")
        result = deployment(items=(long,) * 1000)
        summary = render_summary(result)
        assert len(summary.encode()) <= SUMMARY_BUDGET_BYTES
        shown = summary.count("| Report | New |")
        assert 0 < shown < 1000
        assert summary.endswith(f"_…and {1000 - shown} more items, listed in the `deployed-items` output._\n")


class TestEscaping:
    def test_pipes_newlines_and_tags_are_inert(self) -> None:
        """Remote text cannot break a table row or open an HTML tag."""
        assert md("a|b\r\nc<script>&d") == "a\\|b<br>c&lt;script&gt;&amp;d"

    def test_backslash_before_pipe(self) -> None:
        """A backslash before a pipe is escaped too, so GFM does not read a cell boundary."""
        assert md("a\\|b") == "a\\\\\\|b"

    def test_long_cells_are_truncated(self) -> None:
        """A cell is cut with an ellipsis at the limit."""
        assert md("x" * 10, limit=5) == "xxxx…"


class TestOtherResults:
    def test_assign_workspace(self) -> None:
        """An assignment shows the pipeline, stage, new and previous workspace."""
        result = AssignWorkspaceResult(
            pipeline_id=PIPELINE_ID, pipeline_name="Sales analytics", stage=TEST, workspace_id="w-2",
            previous_workspace_id="w-1",
        )  # fmt: skip
        assert render_summary(result) == (
            "### ✅ Workspace assigned\n"
            "\n"
            "**Pipeline:** Sales analytics · **Stage:** Test · **Workspace:** w-2 · **Previously:** w-1\n"
        )

    def test_unassign_workspace(self) -> None:
        """An unassignment shows the workspace the stage had and says what went with it."""
        result = UnassignWorkspaceResult(
            pipeline_id=PIPELINE_ID, pipeline_name="Sales analytics", stage=TEST, workspace_id="w-1",
            workspace_name="Sales [Test]",
        )  # fmt: skip
        assert render_summary(result) == (
            "### ✅ Workspace unassigned\n"
            "\n"
            "**Pipeline:** Sales analytics · **Stage:** Test · **Workspace:** w-1 (Sales \\[Test\\])\n"
            "\n"
            "The stage has no workspace now, and its deployment history and deployment rules are gone. "
            "The workspace itself was not deleted.\n"
        )
        assert result.outputs() == {
            "pipeline-id": PIPELINE_ID,
            "stage-id": TEST.id,
            "workspace-id": "w-1",
            "changed": "true",
        }

    def test_unassign_workspace_from_a_stage_without_one(self) -> None:
        """A stage that had no workspace is a success that changed nothing, with an empty workspace-id."""
        result = UnassignWorkspaceResult(pipeline_id=PIPELINE_ID, pipeline_name="Sales analytics", stage=TEST)
        assert render_summary(result) == (
            "### ✅ Stage already without a workspace\n"
            "\n"
            "**Pipeline:** Sales analytics · **Stage:** Test\n"
            "\n"
            "The stage had no workspace assigned; nothing changed.\n"
        )
        assert (result.outputs()["workspace-id"], result.outputs()["changed"]) == ("", "false")
        assert headline(result) == "Stage Test of Sales analytics has no workspace assigned; nothing changed"

    def test_delete_pipeline(self) -> None:
        """A deletion says what went and lists the workspaces left unassigned, one row per stage."""
        result = DeletePipelineResult(
            pipeline_id=PIPELINE_ID, pipeline_name="Sales analytics", workspaces={"Dev": "w-0", "Te|st": "w-1"}
        )
        assert render_summary(result) == (
            "### ✅ Deployment pipeline deleted\n"
            "\n"
            f"**Pipeline:** Sales analytics · **Pipeline id:** {PIPELINE_ID}\n"
            "\n"
            "The pipeline, its stages' deployment history, its deployment rules and the pairing of items between "
            "stages are gone. Its workspaces and their content were not deleted: they are no longer assigned to "
            "any stage.\n"
            "\n"
            "| Stage | Workspace (now unassigned) |\n"
            "| --- | --- |\n"
            "| Dev | w-0 |\n"
            "| Te\\|st | w-1 |\n"
        )
        assert result.outputs() == {"pipeline-id": PIPELINE_ID, "changed": "true"}
        assert headline(result) == "Deleted deployment pipeline Sales analytics"

    def test_delete_pipeline_absent(self) -> None:
        """An absent pipeline is a success that changed nothing, saying absent may mean no access."""
        result = DeletePipelineResult(pipeline_name="Old pipeline")
        assert render_summary(result) == (
            "### ✅ No such deployment pipeline\n"
            "\n"
            "**Pipeline:** Old pipeline\n"
            "\n"
            "This principal sees no such pipeline, so nothing was deleted. A principal sees only the pipelines it "
            "is an Admin of: the pipeline may exist without this principal having access to it.\n"
        )
        assert result.outputs() == {"pipeline-id": "", "changed": "false"}

    def test_delete_pipeline_refused_while_a_deployment_runs(self) -> None:
        """The refusal has no result: the failure names the deployment, and nothing else is claimed."""
        error = DeploymentRunning("Deployment d-1 of pipeline 'Sales' is still running (...). Nothing was deleted")
        assert render_failure(error) == (
            "### ❌ A deployment of the pipeline is running\n"
            "\n"
            "#### What went wrong\n"
            "\n"
            "**A deployment of the pipeline is running.** Deployment d-1 of pipeline 'Sales' is still running (...). "
            "Nothing was deleted\n"
        )

    def test_update_stage(self) -> None:
        """An update shows each changed field before and after."""
        result = UpdateStageResult(
            pipeline_id=PIPELINE_ID, pipeline_name="Sales analytics", stage=TEST,
            changes=[StageChange(field="displayName", before="QA", after="Test"),
                     StageChange(field="isPublic", before="false", after="true")],
        )  # fmt: skip
        assert render_summary(result) == (
            "### ✅ Stage updated\n"
            "\n"
            "**Pipeline:** Sales analytics · **Stage:** Test\n"
            "\n"
            "| Field | Before | After |\n"
            "| --- | --- | --- |\n"
            "| displayName | QA | Test |\n"
            "| isPublic | false | true |\n"
        )
        assert result.outputs() == {"pipeline-id": PIPELINE_ID, "stage-id": TEST.id, "changed": "true"}
        assert headline(result) == "Updated stage Test of Sales analytics: displayName, isPublic"

    def test_update_stage_unchanged(self) -> None:
        """A stage that already had the values is a success with no request, changed false."""
        result = UpdateStageResult(pipeline_id=PIPELINE_ID, pipeline_name="Sales analytics", stage=TEST)
        assert render_summary(result) == (
            "### ✅ Stage already as asked\n"
            "\n"
            "**Pipeline:** Sales analytics · **Stage:** Test\n"
            "\n"
            "The stage already had what was asked; nothing was sent.\n"
        )
        assert result.outputs()["changed"] == "false"

    def test_create_pipeline(self) -> None:
        """A new pipeline shows a row per stage, its id and the workspace assigned now; stage-ids is compact JSON."""
        result = CreatePipelineResult(
            pipeline_id=PIPELINE_ID, pipeline_name="Sales | analytics", created=True, stages=[DEV, TEST],
            workspaces={"Development": "w-1"}, assigned=["Development"],
        )  # fmt: skip
        assert render_summary(result) == (
            "### ✅ Pipeline created\n"
            "\n"
            f"**Pipeline:** Sales \\| analytics · **Id:** {PIPELINE_ID}\n"
            "\n"
            "| Order | Stage | Stage id | Workspace |\n"
            "| --- | --- | --- | --- |\n"
            f"| 0 | Development | {DEV.id} | w-1 (assigned now) |\n"
            f"| 1 | Test | {TEST.id} | — |\n"
        )
        assert result.outputs() == {
            "pipeline-id": PIPELINE_ID,
            "stage-ids": f'{{"Development":"{DEV.id}","Test":"{TEST.id}"}}',
            "changed": "true",
        }
        assert headline(result) == "Created deployment pipeline Sales | analytics with stages Development, Test"

    def test_create_pipeline_that_was_there(self) -> None:
        """A pipeline found with the same stages and workspaces is a success that changed nothing."""
        result = CreatePipelineResult(
            pipeline_id=PIPELINE_ID, pipeline_name="Sales", created=False, stages=[DEV, TEST],
            workspaces={"Test": "w-2"},
        )  # fmt: skip
        assert render_summary(result) == (
            "### ✅ Pipeline already there\n"
            "\n"
            f"**Pipeline:** Sales · **Id:** {PIPELINE_ID}\n"
            "\n"
            "| Order | Stage | Stage id | Workspace |\n"
            "| --- | --- | --- | --- |\n"
            f"| 0 | Development | {DEV.id} | — |\n"
            f"| 1 | Test | {TEST.id} | w-2 |\n"
            "\n"
            "A pipeline of that name with these stages was there already; nothing changed.\n"
        )
        assert result.outputs()["changed"] == "false"
        assert (
            headline(result)
            == "Deployment pipeline Sales already exists with stages Development, Test; nothing changed"
        )

    def test_add_user_unchanged(self) -> None:
        """A principal that already had the role is reported as unchanged."""
        result = AddUserResult(
            principal="p-1", principal_type="Group",
            pipeline=Grant(
                kind="pipeline", id=PIPELINE_ID, name="Sales analytics", role="Admin", previous_role="Admin"
            ),
        )  # fmt: skip
        assert render_summary(result) == (
            "### ✅ Access unchanged\n"
            "\n"
            "**Principal:** p-1 (Group) · **Pipeline:** Sales analytics: Admin\n"
            "\n"
            "The principal already was Admin of pipeline 'Sales analytics'.\n"
        )

    def test_add_user_on_a_pipeline_and_a_workspace(self) -> None:
        """Each grant gets a line: added to the pipeline, moved to another role on the workspace."""
        result = AddUserResult(
            principal="analyst@contoso.com", principal_type="User",
            pipeline=Grant(kind="pipeline", id=PIPELINE_ID, name="Sales analytics", role="Admin"),
            workspace=Grant(kind="workspace", id="w-1", name="", role="Contributor", previous_role="Viewer"),
        )  # fmt: skip
        assert render_summary(result) == (
            "### ✅ Access granted\n"
            "\n"
            "**Principal:** analyst@contoso.com (User) · **Pipeline:** Sales analytics: Admin · "
            "**Workspace:** w-1: Contributor\n"
            "\n"
            "The principal was added as Admin of pipeline 'Sales analytics'.\n"
            "The principal was moved from Viewer to Contributor on workspace w-1.\n"
        )
        assert result.outputs()["changed"] == "true"

    def test_failure_without_result_lists_each_input(self) -> None:
        """Input errors become a list, one bullet per input, saying nothing was changed."""
        error = InputErrors(
            [InputError("tenant-id", "required and not supplied"), InputError("wait", "expected true or false")]
        )
        assert render_failure(error) == (
            "### ❌ Invalid input\n"
            "\n"
            "#### What went wrong\n"
            "\n"
            "**Invalid input.** Nothing was changed. Fix these inputs and run again:\n"
            "\n"
            "- Input 'tenant-id': required and not supplied\n"
            "- Input 'wait': expected true or false\n"
        )

    def test_remove_user_from_a_pipeline_and_a_workspace(self) -> None:
        """Each removal gets a line: the role taken off the pipeline, and none found on the workspace."""
        result = RemoveUserResult(
            principal="analyst@contoso.com", principal_type="User",
            pipeline=Removal(kind="pipeline", id=PIPELINE_ID, name="Sales analytics", removed_role="Admin"),
            workspace=Removal(kind="workspace", id="w-1", name=""),
        )  # fmt: skip
        assert render_summary(result) == (
            "### ✅ Access removed\n"
            "\n"
            "**Principal:** analyst@contoso.com (User) · **Pipeline:** Sales analytics: Admin removed · "
            "**Workspace:** w-1: no role\n"
            "\n"
            "The principal was removed from pipeline 'Sales analytics', where it was Admin.\n"
            "The principal had no role on workspace w-1; nothing to remove.\n"
        )
        assert headline(result) == (
            "analyst@contoso.com (User) was removed from pipeline 'Sales analytics', where it was Admin; "
            "had no role on workspace w-1; nothing to remove"
        )
        assert result.outputs() == {
            "pipeline-id": PIPELINE_ID,
            "principal": "analyst@contoso.com",
            "removed-role": "Admin",
            "workspace-id": "w-1",
            "removed-workspace-role": "",
            "changed": "true",
        }

    def test_remove_user_unchanged(self) -> None:
        """A principal with no role there is a success that changed nothing."""
        result = RemoveUserResult(
            principal="p-1", principal_type="Group", workspace=Removal(kind="workspace", id="w-1", name="")
        )
        assert render_summary(result) == (
            "### ✅ Access unchanged\n"
            "\n"
            "**Principal:** p-1 (Group) · **Workspace:** w-1: no role\n"
            "\n"
            "The principal had no role on workspace w-1; nothing to remove.\n"
        )
        assert (result.outputs()["pipeline-id"], result.outputs()["changed"]) == ("", "false")


class TestPlainText:
    def test_headlines(self) -> None:
        """The one-line headline says what happened for each kind of outcome."""
        assert headline(deployment()) == "Deployed 2 items from Development to Test in 9s"
        failed = deployment(status="Failed", items=(BROKEN,))
        assert headline(failed) == (
            f"Deployment from Development to Test failed: 1 item failed (operation {OPERATION_ID})"
        )
        waiting = deployment(status="Running", waited=False, source_stage=None, target_stage=None)
        assert headline(waiting) == f"Deployment started (operation {OPERATION_ID}); not waiting for it"
        assign = AssignWorkspaceResult(
            pipeline_id="p", pipeline_name="P", stage=DEV, workspace_id="w", previous_workspace_id="w"
        )
        assert headline(assign) == "Workspace w was already assigned to stage Development of P"

    def test_item_rows_put_failures_first(self) -> None:
        """Rows keep plain text, show a dash for an unknown diff state, and list failures first."""
        unknown = MODEL.model_copy(update={"diff_state": None})
        rows = item_rows(deployment(items=(REPORT, unknown, BROKEN)))
        assert [(r.name, r.change, r.result) for r in rows] == [
            ("Finance, EU: model", "Different", "Failed"),
            ("Sales report", "New", "Succeeded"),
            ("Sales model", "—", "Succeeded"),
        ]
        assert rows[0].error == BROKEN.error

    def test_durations_and_progress(self) -> None:
        """Durations read as 9s, 2m 05s, 1h 02m; progress lines as status, steps and elapsed time."""
        assert [format_duration(s) for s in (9.4, 125, 3725, None)] == ["9s", "2m 05s", "1h 02m", "—"]
        assert [format_elapsed(s) for s in (12.9, 754, 3723)] == ["00:12", "12:34", "1:02:03"]
        progress = Progress(elapsed_seconds=12, status="Running", steps_done=3, steps_total=6)
        assert progress_line(progress) == "Running: 3/6 steps done, 00:12 elapsed"
        unknown = Progress(elapsed_seconds=1, status="NotStarted", steps_done=0, steps_total=0)
        assert progress_line(unknown) == "NotStarted: 00:01 elapsed"
