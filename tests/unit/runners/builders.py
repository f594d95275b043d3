"""Results built straight from the models, shared by the runner tests."""

from __future__ import annotations

from typing import Any

from fabric_ci.models.results import DeployedItem, DeploymentResult, StageRef

OPERATION_ID = "5d2c6a4e-0b1f-4c3e-9a8d-7e6f5a4b3c2d"
PIPELINE_ID = "a1b2c3d4-e5f6-4711-8899-aabbccddeeff"
DEV = StageRef(id="11111111-1111-1111-1111-111111111111", name="Development", order=0)
TEST = StageRef(id="22222222-2222-2222-2222-222222222222", name="Test", order=1)

REPORT = DeployedItem(id="r-1", name="Sales report", type="Report", diff_state="New", status="Succeeded")
MODEL = DeployedItem(id="m-1", name="Sales model", type="SemanticModel", diff_state="Different", status="Succeeded")
BROKEN = DeployedItem(
    id="m-2",
    name="Finance, EU: model",
    type="SemanticModel",
    diff_state="Different",
    status="Failed",
    error="Refresh failed: column <Amount>\nis missing | see log",
)


def deployment(**changes: Any) -> DeploymentResult:
    """A deploy-all result from Development to Test; keyword arguments override fields."""
    fields: dict[str, Any] = {
        "command": "deploy-all",
        "pipeline_id": PIPELINE_ID,
        "pipeline_name": "Sales analytics",
        "operation_id": OPERATION_ID,
        "source_stage": DEV,
        "target_stage": TEST,
        "status": "Succeeded",
        "items": (REPORT, MODEL),
        "duration_seconds": 9.4,
    }
    fields.update(changes)
    return DeploymentResult(**fields)
