"""What an operation asks an API client to do, in the API-neutral terms operations use.

Each client (api/fabric.py, api/powerbi.py) turns these into its own request bodies; input
validation (models/inputs.py) has already refused what the chosen API cannot do.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from fabric_ci.models.resources import Stage, StageItem


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class DeployOptions(_Request):
    """The deployment options. The first six are the Power BI API's: it fails a deployment that
    needs one of them unset, so all six are always sent; the defaults are the Power BI UI's."""

    allow_create_artifact: bool = True
    allow_overwrite_artifact: bool = True
    allow_overwrite_target_artifact_label: bool = False
    allow_purge_data: bool = False
    allow_skip_tiles_with_missing_prerequisites: bool = False
    allow_take_over: bool = False
    allow_cross_region_deployment: bool | None = None  # the Fabric API's only option; None: not sent


# The Power BI API's six options, as DeployOptions fields (the inputs are their kebab-case names).
POWERBI_OPTIONS = tuple(name for name in DeployOptions.model_fields if name != "allow_cross_region_deployment")


class NewWorkspace(_Request):
    """A workspace the service creates for a target stage that has none."""

    name: str
    capacity_id: str | None = None


class DeployRequest(_Request):
    source: Stage
    target: Stage
    items: tuple[StageItem, ...] | None = None  # None: everything in the source stage
    note: str | None = None  # the user's
    marker: str = ""  # this run's marker (operations/deploy.py run_marker), appended to the note
    new_workspace: NewWorkspace | None = None
    update_app: bool = False
    options: DeployOptions = DeployOptions()

    @property
    def backward(self) -> bool:
        return self.target.order < self.source.order

    @property
    def sent_note(self) -> str | None:
        """The note as sent: the user's, then the run marker (inputs keep the sum within the limit)."""
        return " ".join(part for part in (self.note, self.marker) if part) or None


class NewStage(_Request):
    """A stage of a pipeline to create (the Fabric API's DeploymentPipelineStageRequest)."""

    display_name: str
    description: str | None = None
    is_public: bool = False
