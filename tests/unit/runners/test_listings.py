"""The read-only commands' reports, exact: the terminal's 80-column tables, the JSON values, the
job summary's Markdown. Long names give way; ids never do."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fabric_ci.models.results import (
    DeploymentRecord,
    DeploymentStatusResult,
    HistoryResult,
    PipelineListResult,
    PipelineSummary,
    PipelineViewResult,
    StageItemView,
    StageView,
)
from fabric_ci.runners.local import json_outputs, report_lines
from fabric_ci.runners.summary import SUMMARY_BUDGET_BYTES, render_summary
from fabric_ci.runners.tables import display_width

from .builders import BROKEN, DEV, OPERATION_ID, PIPELINE_ID, REPORT, TEST

OTHER_ID = "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b"
WS_DEV = "33333333-3333-3333-3333-333333333333"
WS_TEST = "44444444-4444-4444-4444-444444444444"
LONG = "Quarterly revenue by region and product line, restated for the new fiscal calendar"


def text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def widest(lines: list[str]) -> int:
    return max(len(line) for line in lines)


def pipelines() -> PipelineListResult:
    return PipelineListResult(
        command="list-pipelines",
        pipelines=(
            PipelineSummary(id=PIPELINE_ID, name="Sales analytics", stage_count=3, admin=True),
            PipelineSummary(id=OTHER_ID, name=LONG, stage_count=None, admin=False),
        ),
    )


def test_list_pipelines_fits_80_columns_cutting_the_name_never_the_id() -> None:
    lines = report_lines(pipelines())
    assert text(lines) == (
        "2 deployment pipelines visible to this principal\n"
        "\n"
        "  Name                       Id                                    Stages  Admin\n"
        f"  Sales analytics            {PIPELINE_ID}  3       yes\n"
        f"  Quarterly revenue by reg…  {OTHER_ID}  —       no\n"
    )
    assert widest(lines) == 80


def test_list_pipelines_json_is_an_array_of_objects() -> None:
    assert json_outputs(pipelines().outputs()) == {
        "pipelines": [
            {"id": PIPELINE_ID, "name": "Sales analytics", "stageCount": 3, "admin": True},
            {"id": OTHER_ID, "name": LONG, "stageCount": None, "admin": False},
        ]
    }


def test_no_pipeline_says_so() -> None:
    assert report_lines(PipelineListResult(command="list-pipelines", pipelines=())) == [
        "No deployment pipeline is visible to this principal",
        "",
    ]


def view(*, items: bool = False) -> PipelineViewResult:
    dev_items = (
        StageItemView(id="i-1", name="Sales model", type="SemanticModel", paired_id="t-1", paired_name="Sales model"),
        StageItemView(id="i-2", name=LONG, type="Report"),
    )
    test_items = (
        StageItemView(
            id="t-1",
            name="Sales model",
            type="SemanticModel",
            last_deployed=datetime(2026, 11, 30, 9, 5, tzinfo=UTC),
        ),
    )
    return PipelineViewResult(
        command="show-pipeline",
        pipeline_id=PIPELINE_ID,
        pipeline_name="Sales analytics",
        description="Sales reports",
        stages=(
            StageView(
                id=DEV.id,
                name="Development",
                order=0,
                workspace_id=WS_DEV,
                workspace_name="Sales [Dev]",
                public=False,
                item_count=2,
                items=dev_items if items else None,
            ),
            StageView(
                id=TEST.id,
                name="Test",
                order=1,
                workspace_id=WS_TEST,
                workspace_name=LONG,
                public=True,
                item_count=1,
                items=test_items if items else None,
            ),
            StageView(
                id="55555555-5555-5555-5555-555555555555",
                name="Production",
                order=2,
                items=() if items else None,
            ),
        ),
    )


SHOW_TEXT = (
    "Sales analytics: 3 stages\n"
    "\n"
    f"  Pipeline id:  {PIPELINE_ID}\n"
    "  Description:  Sales reports\n"
    "\n"
    "  #  Stage        Workspace                                        Items  Public\n"
    "  0  Development  Sales [Dev]                                      2      no\n"
    "  1  Test         Quarterly revenue by region and product line, …  1      yes\n"
    "  2  Production   —                                                —      —\n"
    "\n"
    "  #  Stage id                              Workspace id\n"
    f"  0  {DEV.id}  {WS_DEV}\n"
    f"  1  {TEST.id}  {WS_TEST}\n"
    "  2  55555555-5555-5555-5555-555555555555  —\n"
)


def test_show_pipeline_stages_then_their_ids() -> None:
    lines = report_lines(view())
    assert text(lines) == SHOW_TEXT
    assert widest(lines) == 80


def test_show_pipeline_items_with_their_pairs_in_the_next_stage() -> None:
    lines = report_lines(view(items=True))
    assert text(lines) == SHOW_TEXT + (
        "\n"
        "Development: 2 items\n"
        "  Type           Item                        Paired in Test  Last deployed (UTC)\n"
        "  SemanticModel  Sales model                 Sales model     —\n"
        "  Report         Quarterly revenue by regi…  —               —\n"
        "\n"
        "Test: 1 item\n"
        "  Type           Item         Paired in Production  Last deployed (UTC)\n"
        "  SemanticModel  Sales model  —                     2026-11-30 09:05\n"
        "\n"
        "Production\n"
        "  no workspace assigned\n"
    )
    assert widest(lines) <= 80


def test_show_pipeline_json_has_items_only_when_asked() -> None:
    assert "items" not in json_outputs(view().outputs())["stages"][0]
    stages = json_outputs(view(items=True).outputs())["stages"]
    assert stages[0]["items"][0] == {
        "id": "i-1",
        "name": "Sales model",
        "type": "SemanticModel",
        "lastDeployed": None,
        "pairedId": "t-1",
        "pairedName": "Sales model",
    }
    assert stages[1]["items"][0]["lastDeployed"] == "2026-11-30T09:05:00Z"
    assert stages[2] == {
        "id": "55555555-5555-5555-5555-555555555555",
        "name": "Production",
        "order": 2,
        "workspaceId": None,
        "workspaceName": None,
        "public": None,
        "itemCount": None,
        "itemsReadable": True,
        "items": [],
    }


def history() -> HistoryResult:
    return HistoryResult(
        command="history",
        pipeline_id=PIPELINE_ID,
        pipeline_name="Sales analytics",
        deployments=(
            DeploymentRecord(
                id=OPERATION_ID,
                status="Running",
                source_stage="Development",
                target_stage="Test",
                started=datetime(2026, 12, 1, 10, 0, 30, tzinfo=UTC),
                performed_by="release-bot",
            ),
            DeploymentRecord(
                id=OTHER_ID,
                status="Failed",
                source_stage="Test",
                target_stage="Production",
                started=datetime(2026, 11, 30, 23, 59, tzinfo=UTC),
                duration_seconds=95,
                performed_by="ana@contoso.com",
                note=LONG,
            ),
        ),
    )


def test_history_a_row_per_deployment_and_its_details_under_it() -> None:
    lines = report_lines(history())
    assert text(lines) == (
        "2 most recent deployments of Sales analytics, newest first\n"
        "\n"
        f"  Pipeline id:  {PIPELINE_ID}\n"
        "\n"
        "  Deployment id                         Status   Started (UTC)     Took\n"
        f"  {OPERATION_ID}  Running  2026-12-01 10:00  —\n"
        "      Development → Test · by release-bot\n"
        f"  {OTHER_ID}  Failed   2026-11-30 23:59  1m 35s\n"
        "      Test → Production · by ana@contoso.com · note: Quarterly revenue by regio…\n"
    )
    assert widest(lines) <= 80


def test_history_json() -> None:
    deployments = json_outputs(history().outputs())["deployments"]
    assert deployments[1] == {
        "id": OTHER_ID,
        "status": "Failed",
        "sourceStage": "Test",
        "targetStage": "Production",
        "started": "2026-11-30T23:59:00Z",
        "durationSeconds": 95,
        "performedBy": "ana@contoso.com",
        "note": LONG,
    }


def status(**changes: object) -> DeploymentStatusResult:
    fields: dict[str, object] = {
        "command": "status",
        "pipeline_id": PIPELINE_ID,
        "pipeline_name": "Sales analytics",
        "operation_id": OPERATION_ID,
        "source_stage": DEV,
        "target_stage": TEST,
        "status": "Running",
        "items": (REPORT, BROKEN.model_copy(update={"status": "NotStarted", "error": None})),
        "waited": False,
    }
    return DeploymentStatusResult(**{**fields, **changes})  # type: ignore[arg-type]


def test_status_of_a_running_deployment_counts_what_is_done() -> None:
    lines = report_lines(status())
    assert lines[0] == f"Deployment {OPERATION_ID} from Development to Test is running: 1 of 2 items done"
    assert "  Finance, EU: model  SemanticModel  Different  NotStarted" in lines
    summary = render_summary(status())
    assert summary.startswith(f"### ⏳ Deployment {OPERATION_ID} from Development to Test is running")
    assert "Not finished yet. To wait for it, use the `wait-for-deployment` action" in summary


def test_status_of_a_failed_deployment_is_reported_not_raised() -> None:
    result = status(status="Failed", items=(REPORT, BROKEN), duration_seconds=12)
    assert report_lines(result)[0] == f"Deployment {OPERATION_ID} from Development to Test failed: 1 item failed"
    assert json.loads(result.outputs()["deployed-items"])[1]["status"] == "Failed"
    assert result.outputs()["status"] == "Failed"


def test_summary_tables_in_markdown() -> None:
    summary = render_summary(history())
    assert summary.splitlines()[:6] == [
        "### 2 most recent deployments of Sales analytics, newest first",
        "",
        f"**Pipeline id:** {PIPELINE_ID}",
        "",
        "| Deployment id | Status | Started (UTC) | Took | Details |",
        "| --- | --- | --- | --- | --- |",
    ]
    assert f"| {OTHER_ID} | Failed | 2026-11-30 23:59 | 1m 35s | Test → Production · by ana@contoso.com" in summary
    shown = render_summary(view(items=True))
    assert "#### Production" in shown
    assert "_no workspace assigned_" in shown


def test_remote_text_cannot_drive_the_terminal_or_widen_the_table() -> None:
    """A stage's name in a header, wide characters, a bidi override: cleaned, cut, measured in columns."""
    hostile = "Test \x1b[2J\x1b]0;pwned\x07 " + "y" * 150
    result = view(items=True)
    stages = list(result.stages)
    stages[1] = stages[1].model_copy(update={"name": hostile})
    stages[0] = stages[0].model_copy(
        update={
            "workspace_name": "販売分析ワークスペース開発用の長い名前です本当に",
            "items": (StageItemView(id="i-1", name="\u202eledom selaS", type="SemanticModel", paired_id="t-9"),),
        }
    )
    lines = report_lines(result.model_copy(update={"stages": tuple(stages)}))
    joined = "\n".join(lines)
    assert "\x1b" not in joined
    assert "\x07" not in joined
    assert "\u202e" not in joined
    assert all(display_width(line) <= 80 for line in lines), [line for line in lines if display_width(line) > 80]
    assert "  Type           Item        Paired in Test ?[2J?]0;pwned?…  Last deployed (UTC)" in lines
    # The pair the next stage did not list: no id cut in a name column.
    assert "  SemanticModel  ?ledom se…  (not listed)                    —" in lines
    # Two columns a character: the row is padded by display width, so its columns line up.
    assert "  0  Development                    販売分析ワークスペース開発用…  2      no" in lines


def test_a_stage_whose_items_cannot_be_read_says_why() -> None:
    result = view(items=True)
    stages = list(result.stages)
    stages[1] = stages[1].model_copy(update={"item_count": None, "items_readable": False, "items": ()})
    lines = report_lines(result.model_copy(update={"stages": tuple(stages)}))
    at = lines.index("Test")
    assert lines[at + 1] == "  not shown: listing them needs the Contributor role on the stage's workspace"
    assert (
        json_outputs(result.model_copy(update={"stages": tuple(stages)}).outputs())["stages"][1]["itemsReadable"]
        is False
    )


def test_a_name_is_no_link_in_the_summary() -> None:
    """Any pipeline Admin sets names: in the job summary one must not become a link or an image."""
    listed = PipelineListResult(
        command="list-pipelines",
        pipelines=(PipelineSummary(id=PIPELINE_ID, name="[Approve here](https://evil.example) ![x](y)", admin=True),),
    )
    summary = render_summary(listed)
    assert f"| \\[Approve here\\](https://evil.example) !\\[x\\](y) | {PIPELINE_ID} | — | yes |" in summary


def test_a_huge_listing_keeps_the_summary_within_its_budget() -> None:
    many = tuple(
        StageItemView(id=f"i-{n}", name=f"Report number {n:05d} of the big workspace", type="Report")
        for n in range(8000)
    )
    result = view(items=True)
    stages = list(result.stages)
    stages[0] = stages[0].model_copy(update={"items": many, "item_count": len(many)})
    summary = render_summary(result.model_copy(update={"stages": tuple(stages)}))
    assert len(summary.encode()) <= SUMMARY_BUDGET_BYTES
    shown = summary.count("| Report | Report number ")
    assert 1000 < shown < 8000
    # The rest of Development, and Test's one item: all of them in the output.
    assert f"_…and {8000 - shown + 1} more rows, in the `stages` output._" in summary
