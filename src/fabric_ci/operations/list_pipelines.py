"""list-pipelines: the deployment pipelines this principal can see, with their stage counts."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.errors import ApiConnectionError, ForbiddenError, NotFoundError, ServerError, ThrottledError
from fabric_ci.models.inputs import ListPipelinesInputs
from fabric_ci.models.results import PipelineListResult, PipelineSummary
from fabric_ci.operations.reporter import Reporter


def list_pipelines(inputs: ListPipelinesInputs, client: PipelinesClient, reporter: Reporter) -> PipelineListResult:
    summaries = []
    pipelines = sorted(client.list_pipelines(), key=lambda p: (p.display_name.lower(), p.id))
    unknown = []
    for pipeline in pipelines:
        # The list gives no stages; reading a pipeline needs its Admin role, so the read also says
        # whether the principal has it (a pipeline listed but refused here is one it cannot change).
        admin: bool | None = True
        stages: int | None = None
        try:
            stages = len(client.get_pipeline(pipeline.id).stages)
        except NotFoundError:
            continue  # deleted since it was listed
        except ForbiddenError:
            admin = False
        except (ThrottledError, ServerError, ApiConnectionError):
            # Retried already (api/retry.py); one pipeline that cannot be read must not cost the list.
            admin = None
            unknown.append(pipeline.display_name)
        summaries.append(
            PipelineSummary(
                id=pipeline.id,
                name=pipeline.display_name,
                description=pipeline.description,
                stage_count=stages,
                admin=admin,
            )
        )
    if unknown:
        reporter.warning(
            f"{len(unknown)} of {len(pipelines)} pipelines could not be read (the service kept failing or throttling), "
            f"so their stages and Admin role are not known: {', '.join(repr(n) for n in unknown[:10])}"
        )
    return PipelineListResult(command="list-pipelines", pipelines=tuple(summaries))
