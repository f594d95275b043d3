"""list-pipelines: the deployment pipelines this principal can see, with their stage counts."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.errors import ForbiddenError, NotFoundError
from fabric_ci.models.inputs import ListPipelinesInputs
from fabric_ci.models.results import PipelineListResult, PipelineSummary
from fabric_ci.operations.reporter import Reporter


def list_pipelines(inputs: ListPipelinesInputs, client: PipelinesClient, reporter: Reporter) -> PipelineListResult:
    summaries = []
    for pipeline in sorted(client.list_pipelines(), key=lambda p: (p.display_name.lower(), p.id)):
        # The list gives no stages; reading a pipeline needs its Admin role, so the read also says
        # whether the principal has it (a pipeline listed but refused here is one it cannot change).
        try:
            stages: int | None = len(client.get_pipeline(pipeline.id).stages)
        except (ForbiddenError, NotFoundError):
            stages = None
        summaries.append(
            PipelineSummary(
                id=pipeline.id,
                name=pipeline.display_name,
                description=pipeline.description,
                stage_count=stages,
                admin=stages is not None,
            )
        )
    return PipelineListResult(command="list-pipelines", pipelines=tuple(summaries))
