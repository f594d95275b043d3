"""deploy-many: the manifest's deployments, each as deploy-all or selective-deploy would run it,
at the same time where they can and in dependency order where they must.

Each entry runs the single-deploy operation (operations/deploy.py) in a worker thread, with its
waiting (operations/waiting.py) unchanged: the same one-deployment-never-sent-twice guarantee, and
each wait plans its status requests as a separate step would, and borrows from the requests other
waits ended with to spare (api/polling.py SharedBudget), so N waits cost no more requests than N
steps' fixed polls, and a wait whose estimate puts its end before its own budget lets it look
looks sooner than a step of its own could.
The main thread only schedules, so that a signal (delivered to it) stops every wait at once.

Before the first deployment every pipeline is resolved (one listing for all) and `depends-on: auto`
edges are inferred from item relations, the reads up to max-parallel at once (read_at_once). As each
deployment is accepted, `results` is written again (Reporter.interim), so a step killed mid-run
still names every deployment it started.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import replace

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.polling import SharedBudget
from fabric_ci.clock import Clock
from fabric_ci.errors import (
    ApiError,
    Cancelled,
    DeployManyFailed,
    FabricCiError,
    InputError,
    InputErrors,
    RelationsUnavailable,
    StepCancelled,
    WaitTimeout,
)
from fabric_ci.models.inputs import DeployAllInputs, PipelineSelector, SelectiveDeployInputs
from fabric_ci.models.manifest import MANIFEST_INPUT, DeployManyInputs, Manifest, ManifestEntry, find_cycle
from fabric_ci.models.resources import PipelineWithStages, StageItem
from fabric_ci.models.results import (
    DeployManyResult,
    DeploymentResult,
    EntryOutcome,
    EntryStatus,
    Progress,
    Result,
)
from fabric_ci.operations.deploy import deploy, resolve_stages
from fabric_ci.operations.reads import read_at_once
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_items, resolve_pipeline, resolve_stage

DeployOne = Callable[[DeployAllInputs, PipelinesClient, Reporter, Clock], DeploymentResult]
# How often the scheduler looks up from waiting for a worker: bounds how late a signal is noticed.
SCHEDULER_TICK = 0.2
# A worker's sleep is cut into slices this long, so a cancel reaches a waiting entry promptly.
SLEEP_SLICE = 0.2


class EntryReporter:
    """One entry's channel to the runner: every line prefixed with the entry's name, and written
    under one lock, so lines of concurrent entries never interleave mid-line."""

    def __init__(self, base: Reporter, name: str, lock: threading.Lock, on_accepted: Callable[[str], None]) -> None:
        self._base, self._name, self._lock, self._on_accepted = base, name, lock, on_accepted
        self._last: tuple[object, ...] = ()

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        # Runner groups cannot nest or interleave across threads: a phase is a line here.
        self.info(title)
        yield

    def _say(self, say: Callable[[str], None], message: str) -> None:
        with self._lock:
            say(f"[{self._name}] {message}")

    def info(self, message: str) -> None:
        self._say(self._base.info, message)

    def debug(self, message: str) -> None:
        self._say(self._base.debug, message)

    def notice(self, message: str) -> None:
        self._say(self._base.notice, message)

    def warning(self, message: str) -> None:
        self._say(self._base.warning, message)

    def mask(self, secret: str) -> None:
        with self._lock:
            self._base.mask(secret)

    def deployment_accepted(self, operation_id: str) -> None:
        self._on_accepted(operation_id)

    def interim(self, result: Result) -> None:
        # An entry's own outputs are not the step's: deploy-many writes `results` for all entries.
        pass

    def progress(self, progress: Progress) -> None:
        # A line when the state changes: the per-second repeats would flood a log shared by entries.
        state = (progress.status, progress.steps_done, progress.steps_total)
        if state != self._last:
            self._last = state
            steps = f", {progress.steps_done}/{progress.steps_total} steps" if progress.steps_total else ""
            self.info(f"{progress.label}{steps} ({progress.elapsed_seconds:.0f}s)")


class _Run:
    def __init__(
        self, inputs: DeployManyInputs, client: PipelinesClient, reporter: Reporter, clock: Clock, deploy_one: DeployOne
    ) -> None:
        self.inputs, self.client, self.reporter, self.clock, self.deploy_one = (
            inputs,
            client,
            reporter,
            clock,
            deploy_one,
        )
        self.manifest: Manifest = inputs.deployments
        self.began = clock.now()
        self.cancel = threading.Event()
        self.signal: Cancelled | None = None
        self.lock = threading.Lock()
        self.outcomes: dict[str, EntryOutcome] = {}
        self.accepted: dict[str, str] = {}
        self.pipeline_of: dict[str, str] = {}
        self.started: dict[str, float] = {}

    def since(self) -> float:
        return self.clock.now() - self.began

    def worker_clock(self) -> Clock:
        def sleep(seconds: float) -> None:
            left = seconds
            while left > 0:
                if self.cancel.is_set() and self.signal is not None:
                    raise Cancelled(self.signal.signum)
                step = min(left, SLEEP_SLICE)
                self.clock.sleep(step)
                left -= step
            if self.cancel.is_set() and self.signal is not None:
                raise Cancelled(self.signal.signum)

        return Clock(self.clock.now, sleep)

    def accepted_by(self, name: str) -> Callable[[str], None]:
        def accepted(operation_id: str) -> None:
            # deploy() says it in the log itself. `results` is written again at once, so that a step
            # killed before it ends (a runner's hard cancel) still names every accepted deployment.
            with self.lock:
                self.accepted[name] = operation_id
                try:
                    self.reporter.interim(self.interim_result())
                except Exception as error:
                    # Raised here, it would leave deploy() mid-wait: the entry reported Failed while its
                    # deployment runs on, and its dependents skipped. The final `results` is still written.
                    self.reporter.warning(f"[{name}] results could not be written yet ({error}); the step goes on")

        return accepted

    def interim_result(self) -> DeployManyResult:
        """Every entry as it stands: ended, Running (accepted, with its operation id) or NotStarted."""
        ended = self.outcomes.copy()  # one atomic copy: the scheduling thread adds outcomes meanwhile
        entries = []
        for entry in self.manifest.entries:
            name = entry.name
            if name in ended:
                entries.append(ended[name])
            else:
                status: EntryStatus = "Running" if name in self.accepted else "NotStarted"
                pipeline_id = self.pipeline_of.get(name, "")
                entries.append(
                    EntryOutcome(
                        name=name, status=status, pipeline_id=pipeline_id, operation_id=self.accepted.get(name)
                    )
                )
        return DeployManyResult(command="deploy-many", entries=tuple(entries))

    def run_entry(self, name: str, pipeline_id: str) -> EntryOutcome:
        entry = self.manifest.entry(name)
        reporter = EntryReporter(self.reporter, name, self.lock, self.accepted_by(name))
        started = self.since()
        result: DeploymentResult | None
        status: EntryStatus
        error: str | None
        # The pipeline by the id resolved above: the entry's deploy reads it with one request, not the list again.
        inputs = entry.inputs.model_copy(update={"pipeline": PipelineSelector(id=pipeline_id)})
        try:
            result = self.deploy_one(inputs, self.client, reporter, self.worker_clock())
            status = "Succeeded" if result.status == "Succeeded" else "Failed"
            error = None if status == "Succeeded" else f"ended {result.status}"
        except WaitTimeout as timeout:
            result, status, error = timeout.result, "TimedOut", timeout.message
        except StepCancelled as cancelled:
            result, status, error = cancelled.result, "Cancelled", cancelled.message
        except FabricCiError as failed:
            result, status, error = getattr(failed, "result", None), "Failed", failed.message
        except Cancelled as cancelled:  # before deploy() could say more
            result, status, error = None, "Cancelled", f"Cancelled by {cancelled.signal_name} before it was sent"
        except Exception as unexpected:  # a bug of ours: this entry fails, the run goes on and reports it
            reporter.debug(traceback.format_exc())
            result, status = None, "Failed"
            error = (
                f"Unexpected {type(unexpected).__name__}: {unexpected}. This is a bug in fabric-ci; re-run with "
                "debug on for the traceback and report it."
            )
        with self.lock:
            operation_id = self.accepted.get(name)
        return EntryOutcome(
            name=name,
            status=status,
            pipeline_id=pipeline_id,
            result=result if isinstance(result, DeploymentResult) else None,
            operation_id=operation_id,
            error=error,
            started=started,
            ended=self.since(),
        )


def deploy_many(
    inputs: DeployManyInputs,
    client: PipelinesClient,
    reporter: Reporter,
    clock: Clock,
    *,
    deploy_one: DeployOne | None = None,
) -> DeployManyResult:
    # The entries' waits share one budget of status requests (api/polling.py SharedBudget).
    budget = SharedBudget()
    run = _Run(inputs, client, reporter, clock, deploy_one or functools.partial(deploy, budget=budget))
    manifest = run.manifest
    auto = [entry.name for entry in manifest.entries if entry.infer]
    if auto and inputs.api != "fabric":  # the inputs alone say it: before any request
        reporter.warning(
            f"depends-on: auto ({', '.join(auto)}) needs the Fabric API's item relations; with api: {inputs.api} "
            "only the explicit dependencies are used."
        )
    try:
        resolved = _resolve_pipelines(run, inputs, client, reporter)
        manifest = run.manifest = _infer_dependencies(inputs, manifest, client, reporter, resolved)
    except Cancelled as cancelled:
        raise StepCancelled(
            f"Cancelled by {cancelled.signal_name} before the first deployment: nothing was deployed.", cancelled
        ) from None
    pipeline_of = run.pipeline_of
    pending = [entry.name for entry in manifest.entries]
    running: dict[Future[EntryOutcome], str] = {}
    outcomes = run.outcomes
    with ThreadPoolExecutor(max_workers=inputs.max_parallel, thread_name_prefix="deploy-many") as pool:
        try:
            while pending or running:
                _schedule(run, pending, running, pipeline_of, pool)
                if not running:
                    break
                done, _ = wait(list(running), timeout=SCHEDULER_TICK, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()
                    outcomes[running.pop(future)] = outcome
                    with run.lock:
                        _report(reporter, outcome)
        except Cancelled as cancelled:
            run.signal = cancelled
            run.cancel.set()
            for future in list(running):  # each stops its wait at its next slice and reports
                outcomes[running.pop(future)] = future.result()
            for name in pending:
                outcomes[name] = EntryOutcome(
                    name=name, status="NotStarted", pipeline_id=pipeline_of[name], error="the run was cancelled"
                )
            result = _result(manifest, outcomes)
            still = ", ".join(f"{e.name} ({e.result.operation_id})" for e in result.running if e.result)
            stopped = StepCancelled(
                f"Cancelled by {cancelled.signal_name}: nothing new was started"
                + (f"; still running, not cancelled: {still}" if still else "; no deployment was left running")
                + ". Follow each with wait-for-deployment and its operation-id.",
                cancelled,
            )
            stopped.result = result  # type: ignore[assignment]
            raise stopped from None
        finally:  # a cancelled run lent requests too; a log that fails here must not hide why it ended
            with contextlib.suppress(Exception):
                reporter.debug(
                    f"Status requests the waits lent each other: {budget.lent} of the {budget.deposited} "
                    "that waits ended with to spare"
                )
    result = _result(manifest, outcomes)
    if not result.succeeded:
        raise DeployManyFailed(_failure_message(result), result)
    return result


def _resolve_pipelines(
    run: _Run, inputs: DeployManyInputs, client: PipelinesClient, reporter: Reporter
) -> dict[str, PipelineWithStages]:
    """Every entry's pipeline and stages, before the first deployment: a typo in the last entry stops
    the run before anything is deployed, and entries naming one pipeline differently are serialised."""
    manifest = run.manifest
    with reporter.phase("Resolving the pipelines and stages"):
        pipeline_of = run.pipeline_of
        # One listing for every entry named by pipeline name: pages of the whole tenant's list, read
        # once, before the entries' own reads go out side by side.
        listing = functools.cache(client.list_pipelines)
        listed = any(entry.inputs.pipeline.name for entry in manifest.entries)
        if listed:
            listing()  # signs in: the look-ups need not send one alone first

        def look_up(entry: ManifestEntry) -> PipelineWithStages | InputError:
            try:
                return resolve_pipeline(client, entry.inputs.pipeline, listing=listing)
            except InputError as error:  # every unknown pipeline named at once, below
                return error
            except ApiError as error:  # a 403, a 5xx: the service's message does not name the entry
                whose = f"entry {entry.name!r}" + (f" in file {manifest.file!r}" if manifest.file else "")
                raise type(error)(error.details, f"(reading the pipeline of {whose}) {error.hint}".rstrip()) from error

        found = read_at_once(look_up, manifest.entries, inputs.max_parallel, first_alone=not listed)
        unknown: list[InputError] = []
        resolved: dict[str, PipelineWithStages] = {}
        for entry, pipeline in zip(manifest.entries, found, strict=True):
            if isinstance(pipeline, InputError):
                unknown.append(_entry_error(manifest, entry.name, "pipeline", pipeline))
                continue
            resolved[entry.name] = pipeline
            pipeline_of[entry.name] = pipeline.id
            try:
                # Stage names and order need only the pipeline just read. Items and the stages'
                # workspaces are checked in the entry's turn: an entry before it may deploy them there.
                resolve_stages(pipeline, entry.inputs)
            except InputError as error:
                unknown.append(_entry_error(manifest, entry.name, error.input_name, error))
        if unknown:
            raise InputErrors(unknown)
    return resolved


def _entry_error(manifest: Manifest, name: str, key: str, error: InputError) -> InputError:
    """An entry's input error as the manifest's, naming the entry and its key."""
    return InputError(
        MANIFEST_INPUT, f"{manifest.where(name)}, key {key!r}: {error.args[0]}", candidates=error.candidates
    )


def _infer_dependencies(
    inputs: DeployManyInputs,
    manifest: Manifest,
    client: PipelinesClient,
    reporter: Reporter,
    pipelines: Mapping[str, PipelineWithStages],
) -> Manifest:
    """`depends-on: auto`: an entry also depends on each other entry that deploys an item one of its
    own items reads (relations/upstream, transitively). Shown before anything is deployed; where the
    relations cannot be had, said so, and the explicit dependencies stand alone."""
    auto = [entry.name for entry in manifest.entries if entry.infer]
    if not auto:
        return manifest
    if inputs.api != "fabric":  # deploy_many said so before its first request
        return manifest
    with reporter.phase("Inferring dependencies from item relations"):
        width = inputs.max_parallel

        def source_items(entry: ManifestEntry) -> tuple[str, list[StageItem]] | None:
            pipeline = pipelines[entry.name]
            source = resolve_stage(pipeline, entry.inputs.source_stage, "source-stage")  # checked already
            if source.workspace_id is None:  # nothing to read: its deploy refuses it in its turn
                return None
            items = client.list_stage_items(pipeline.id, source.id)
            if isinstance(entry.inputs, SelectiveDeployInputs):
                try:
                    items = resolve_items(source, items, entry.inputs.items)
                except (InputError, InputErrors):
                    # An item not (yet) in the source stage: its deploy refuses it in its turn, naming the
                    # entry, as it does without auto (an entry before it may deploy it there).
                    return None
            return source.workspace_id, items

        deployed: dict[str, dict[str, StageItem]] = {}  # entry -> its source items by id
        workspace_of: dict[str, str] = {}
        for entry, source in zip(
            manifest.entries, read_at_once(source_items, manifest.entries, width, first_alone=False), strict=True
        ):
            if source is not None:
                workspace_of[entry.name], items = source
                deployed[entry.name] = {item.item_id: item for item in items}
        why: dict[str, dict[str, str]] = {}  # entry -> dependency -> the first reading that made it one
        reads = [(name, item) for name in auto if name in deployed for item in deployed[name].values()]
        try:
            relations = read_at_once(
                lambda read: client.upstream_relations(workspace_of[read[0]], read[1].item_id),
                reads,
                width,
                first_alone=False,
            )
            for (name, item), upstreams in zip(reads, relations, strict=True):
                for upstream in upstreams:
                    for other, theirs in deployed.items():
                        if other != name and upstream.id in theirs:
                            why.setdefault(name, {}).setdefault(
                                other,
                                # relations/upstream is transitive: the item reads it, or reads
                                # what reads it.
                                f"{item.item_type} {item.item_display_name!r} reads, directly or through "
                                f"other items, {upstream.type} {upstream.display_name!r}",
                            )
        except RelationsUnavailable as unavailable:
            reporter.warning(
                f"depends-on: auto: the item relations are unavailable ({unavailable.message.rstrip('.')}); "
                f"only the explicit dependencies are used for {', '.join(auto)}."
            )
            return manifest
        entries = []
        for entry in manifest.entries:
            added = [d for d in why.get(entry.name, {}) if d not in entry.depends_on]
            for dependency in added:
                reporter.info(f"[{entry.name}] depends on {dependency} (inferred: {why[entry.name][dependency]})")
            if entry.infer and not added:
                if entry.name not in deployed:
                    found = (
                        "not looked up: its items are not all in its source stage, or that has no workspace "
                        "(its deploy will say)"
                    )
                elif why.get(entry.name):
                    found = "nothing more: the entries whose items it reads are named already"
                else:
                    found = "no entry whose items it reads"
                reporter.info(f"[{entry.name}] depends-on: auto found {found}")
            entries.append(replace(entry, depends_on=(*entry.depends_on, *added)))
    if cycle := find_cycle({e.name: list(e.depends_on) for e in entries}):
        raise InputErrors(
            [
                InputError(
                    MANIFEST_INPUT,
                    f"{manifest.where(cycle[0])}, key 'depends-on': with the dependencies inferred from item "
                    "relations, the dependencies form a cycle: " + " -> ".join(cycle),
                )
            ]
        )
    return replace(manifest, entries=tuple(entries))


def _schedule(
    run: _Run,
    pending: list[str],
    running: dict[Future[EntryOutcome], str],
    pipeline_of: dict[str, str],
    pool: ThreadPoolExecutor,
) -> None:
    """Start what may start now, in manifest order; settle what never will."""
    inputs, outcomes = run.inputs, run.outcomes
    stop = inputs.on_failure == "stop" and any(o.status != "Succeeded" for o in outcomes.values())
    busy = {pipeline_of[name] for name in running.values()}
    for name in list(pending):
        entry = run.manifest.entry(name)
        if stop:
            outcomes[name] = EntryOutcome(
                name=name, status="NotStarted", pipeline_id=pipeline_of[name], error="on-failure: stop"
            )
            pending.remove(name)
            continue
        ended = [outcomes[d] for d in entry.depends_on if d in outcomes]
        unmet = [o for o in ended if o.status != "Succeeded"]
        if unmet and inputs.on_failure != "continue":
            outcomes[name] = EntryOutcome(
                name=name,
                status="Skipped",
                pipeline_id=pipeline_of[name],
                error="depends on " + ", ".join(f"{o.name} ({o.status})" for o in unmet),
            )
            with run.lock:  # workers write under it: a CI log line must not be split by theirs
                run.reporter.info(f"[{name}] skipped: {outcomes[name].error}")
            pending.remove(name)
            continue
        if len(ended) < len(entry.depends_on) or len(running) >= inputs.max_parallel:
            continue
        if pipeline_of[name] in busy:  # the service runs one deployment per pipeline at a time
            continue
        pending.remove(name)
        busy.add(pipeline_of[name])
        with run.lock:
            run.reporter.info(f"[{name}] starting")
        running[pool.submit(run.run_entry, name, pipeline_of[name])] = name


def _report(reporter: Reporter, outcome: EntryOutcome) -> None:
    took = "" if outcome.started is None or outcome.ended is None else f" after {outcome.ended - outcome.started:.0f}s"
    reporter.info(f"[{outcome.name}] {outcome.status}{took}" + (f": {outcome.error}" if outcome.error else ""))


def _result(manifest: Manifest, outcomes: dict[str, EntryOutcome]) -> DeployManyResult:
    return DeployManyResult(command="deploy-many", entries=tuple(outcomes[e.name] for e in manifest.entries))


def _failure_message(result: DeployManyResult) -> str:
    lines = [
        f"{e.name}: {e.status}" + (f": {e.error}" if e.error else "")
        for e in result.entries
        if e.status in ("Failed", "TimedOut", "Cancelled")
    ]
    skipped = [e.name for e in result.entries if e.status in ("Skipped", "NotStarted")]
    ok = sum(e.status == "Succeeded" for e in result.entries)
    text = f"{ok} of {len(result.entries)} deployments succeeded. " + " ".join(f"{line.rstrip('.')}." for line in lines)
    if skipped:
        text += " Skipped or not started: " + ", ".join(skipped) + "."
    return text
