"""Contract tests: a real emulator over HTTPS, every response checked against Microsoft's spec."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.emulator.seed import DEMO_PIPELINE_ID, DEV_WORKSPACE_ID, SERVICE_PRINCIPAL_ID, TEST_WORKSPACE_ID
from tests.support.emulator_client import EmulatorClient


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(operation_seconds=0.6, retry_after=1, page_size=2)) as emu:
        yield emu


@pytest.fixture
def api(emulator: Emulator) -> Iterator[EmulatorClient]:
    client = EmulatorClient(emulator)
    yield client
    client.close()


# What a deploy of the demo pipeline's Development -> Test needs, each withdrawn from the service principal
# in turn, and the refusal's message then: the pipeline's Admin role, Contributor on each workspace.
DEPLOY_ROLES = {
    "pipeline": "deploying in deployment pipeline 'Sales Analytics' needs its Admin role",
    "source Viewer": "deploying from stage 'Development' in workspace",
    "target none": "deploying to stage 'Test' in workspace",
}


def withdraw_deploy_role(emulator: Emulator, which: str) -> None:
    """Take one of DEPLOY_ROLES from the service principal."""
    state = emulator.state
    if which == "pipeline":
        state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    elif which == "source Viewer":
        state.update_workspace_role(DEV_WORKSPACE_ID, SERVICE_PRINCIPAL_ID, "Viewer")
    else:
        target = state.workspaces[TEST_WORKSPACE_ID]
        target.roles = [r for r in target.roles if r.principal_id != SERVICE_PRINCIPAL_ID]


def deploy_with_contributor_only(emulator: Emulator) -> None:
    """Contributor (no more) on both workspaces of the demo pipeline's Development -> Test."""
    for workspace in (DEV_WORKSPACE_ID, TEST_WORKSPACE_ID):
        emulator.state.update_workspace_role(workspace, SERVICE_PRINCIPAL_ID, "Contributor")
