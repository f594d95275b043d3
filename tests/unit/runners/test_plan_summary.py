"""The plan in a job summary and a headline: what plan: true shows, and a refusal with its plan."""

from __future__ import annotations

from datetime import UTC, datetime

from fabric_ci.errors import DeploymentRefused, InputError
from fabric_ci.models.results import DeploymentPlan, PlannedItem
from fabric_ci.runners.summary import SUMMARY_BUDGET_BYTES, headline, render_summary

from .builders import deployment

PLAN = DeploymentPlan(
    items=(
        PlannedItem(id="d1", name="Sales | Overview", type="Report", action="overwrite", target_id="t1",
                    last_deployed=datetime(2026, 11, 30, 10, 0, tzinfo=UTC), diff="different"),
        PlannedItem(id="d2", name="New", type="Report", action="create"),
        PlannedItem(id="d3", name="Model", type="SemanticModel", action="skipped", reason="not in items"),
    ),
    compared=True,
    definition_requests=6,
)  # fmt: skip


def planned(plan: DeploymentPlan = PLAN) -> object:
    return deployment(status="Planned", operation_id="", items=(), duration_seconds=None, plan=plan)


def test_a_plan_is_a_table_of_every_item_and_says_nothing_was_deployed() -> None:
    result = planned()
    assert render_summary(result) == (  # type: ignore[arg-type]
        "### 📋 Plan Development → Test\n"
        "\n"
        "**Pipeline:** Sales analytics · **Plan:** 1 to create, 1 to overwrite (0 unchanged), 1 skipped · "
        "**Definition requests:** 6\n"
        "\n"
        "Nothing was deployed (`plan: true`).\n"
        "\n"
        "| Item | Type | Action | Details |\n"
        "| --- | --- | --- | --- |\n"
        "| Sales \\| Overview | Report | ✏️ overwrite | last deployed 2026-11-30 10:00 UTC; different |\n"
        "| New | Report | ➕ create |  |\n"
        "| Model | SemanticModel | ⏭️ skipped | not in items |\n"
    )
    assert headline(result) == (  # type: ignore[arg-type]
        "Plan of the deployment from Development to Test: 1 to create, 1 to overwrite (0 unchanged), 1 skipped; "
        "nothing was deployed"
    )


def test_a_refused_plan_shows_the_error_and_the_plan() -> None:
    result = planned()
    error = DeploymentRefused([InputError("target-stage", "stage 'Test' has no workspace")], result)  # type: ignore[arg-type]
    summary = render_summary(result, error)  # type: ignore[arg-type]
    assert summary.startswith("### ❌ The deployment would be refused\n")
    assert "| New | Report | ➕ create |  |" in summary
    assert "- Input 'target-stage': stage 'Test' has no workspace" in summary
    assert "Nothing was deployed (`plan: true`)" not in summary
    assert headline(result, error).startswith("The deployment from Development to Test would be refused")  # type: ignore[arg-type]


def test_a_plan_too_long_for_the_summary_is_cut_with_a_pointer_to_the_output() -> None:
    many = tuple(PlannedItem(id=str(n), name="x" * 400, type="Report", action="create") for n in range(2000))
    summary = render_summary(planned(plan=DeploymentPlan(items=many)))  # type: ignore[arg-type]
    assert len(summary.encode()) < SUMMARY_BUDGET_BYTES
    assert "more items, listed in the `plan` output._" in summary
