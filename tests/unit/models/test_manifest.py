"""The deploy-many manifest: validated whole before any request, each error naming the entry and the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from fabric_ci.errors import InputErrors
from fabric_ci.models.inputs import DeployAllInputs, SelectiveDeployInputs, parse_inputs
from fabric_ci.models.manifest import DeployManyInputs, Manifest, find_cycle

STEP = {
    "tenant-id": "e37de926-00d4-493d-85c5-49d2d2fdc1fb",
    "client-id": "57760066-428a-4acd-b192-e392b8e2b8d3",
    "client-secret": "s3cret",
}

CASCADE = """
defaults:
  source-stage: Development
  target-stage: Test
  timeout: 20m
deployments:
  - pipeline: Shared Models
  - pipeline: Sales Analytics
    depends-on: [Shared Models]
  - pipeline: Finance
    depends-on: Shared Models
    items: |
      Report: Profit and Loss
  - name: finance-to-prod
    pipeline: Finance
    source-stage: Test
    target-stage: Production
    timeout: 5m
    depends-on: [Finance]
"""


def manifest_of(text: str, **step: str) -> Manifest:
    return parse_inputs(DeployManyInputs, {**STEP, **step, "manifest": text}).deployments


def messages(text: str, **step: str) -> list[str]:
    with pytest.raises(InputErrors) as raised:
        parse_inputs(DeployManyInputs, {**STEP, **step, "manifest": text})
    return [error.message for error in raised.value.errors]


def test_entries_take_defaults_and_their_own_inputs() -> None:
    """Defaults apply under every entry; an entry's own keys win; a name defaults to the pipeline."""
    entries = {entry.name: entry for entry in manifest_of(CASCADE).entries}
    assert list(entries) == ["Shared Models", "Sales Analytics", "Finance", "finance-to-prod"]
    assert entries["Sales Analytics"].inputs.timeout == timedelta(minutes=20)
    prod = entries["finance-to-prod"]
    assert prod.inputs.pipeline.name == "Finance"
    assert prod.inputs.source_stage.name == "Test"
    assert prod.inputs.timeout == timedelta(minutes=5)
    assert prod.depends_on == ("Finance",)


def test_items_make_an_entry_selective() -> None:
    """An entry with `items` is a selective deploy; one without deploys everything."""
    entries = {entry.name: entry for entry in manifest_of(CASCADE).entries}
    assert type(entries["Shared Models"].inputs) is DeployAllInputs
    finance = entries["Finance"].inputs
    assert isinstance(finance, SelectiveDeployInputs)
    assert [item.line for item in finance.items] == ["Report: Profit and Loss"]


def test_items_may_be_a_yaml_list() -> None:
    """A YAML list of items is the input's one item a line, quoted or not (unquoted, `Report: Sales` is
    YAML for a mapping); a list of lists is refused."""
    text = """
deployments:
  - pipeline: A
    source-stage: 0
    items:
      - Report: Sales
      - "SemanticModel: Sales"
      - Quarterly Review
"""
    [entry] = manifest_of(text).entries
    assert isinstance(entry.inputs, SelectiveDeployInputs)
    assert [item.line for item in entry.inputs.items] == ["Report: Sales", "SemanticModel: Sales", "Quarterly Review"]
    for wrong in ("[[a]]", "['Report:']", "[Report: ]", '["a\\nb"]', "['']"):
        assert messages(f"deployments:\n  - {{pipeline: A, source-stage: 0, items: {wrong}}}\n") == [
            "Input 'manifest': entry 'A', key 'items': expected a single value (items: one item a line, or a list)"
        ], wrong


def test_entries_share_the_step_sign_in() -> None:
    """Every entry is validated with the step's sign-in and API inputs."""
    entry = manifest_of(CASCADE, api="powerbi").entries[0]
    assert entry.inputs.api == "powerbi"
    assert entry.inputs.client_id == STEP["client-id"]


def test_json_manifests_are_accepted() -> None:
    """A JSON object is a manifest too."""
    text = (
        '{"deployments": [{"pipeline": "A", "source-stage": 0},'
        ' {"pipeline": "B", "source-stage": 0, "depends-on": ["A"]}]}'
    )
    assert [entry.name for entry in manifest_of(text).entries] == ["A", "B"]


def test_a_path_is_read_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-line manifest is a file in the working directory (the runner's workspace)."""
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "deploy.yml").write_text(CASCADE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert len(manifest_of("release/deploy.yml").entries) == 4


def test_a_missing_file_names_the_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path that cannot be read says where it was looked for."""
    monkeypatch.chdir(tmp_path)
    [message] = messages("release/nope.yml")
    assert message.startswith("Input 'manifest': expected a YAML or JSON manifest, or the path of one relative to")
    assert "'release/nope.yml' cannot be read: No such file or directory" in message


def test_every_problem_is_reported_at_once_naming_entry_and_key() -> None:
    """Unknown keys, step inputs in entries, bad values and unknown dependencies are all reported together."""
    text = """
defaults: {source-stage: Development, colour: red}
deployments:
  - pipeline: A
    depends-on: [Bx]
    timeout: forever
  - pipeline: B
    client-secret: hunter2
  - pipeline: C
    wait: false
"""
    assert messages(text) == [
        "Input 'manifest': defaults, key 'colour': is not a key of the manifest (name, depends-on) or a deploy input",
        "Input 'manifest': entry 'B', key 'client-secret': is an input of the step, shared by every entry "
        "(one sign-in for the run), not of an entry",
        "Input 'manifest': entry 'C', key 'wait': is not an entry's: deploy-many waits for every deployment, "
        "its dependents start on success",
        "Input 'manifest': entry 'A', key 'depends-on': names no entry: 'Bx'. Did you mean: 'B'?",
        "Input 'manifest': entry 'A', key 'timeout': expected a duration such as 90s, 30m, 1h or 1h30m, got 'forever'",
    ]


def test_a_secret_in_an_entry_is_not_echoed() -> None:
    """A secret pasted into an entry is refused without repeating it."""
    text = "deployments:\n  - {pipeline: A, source-stage: 0, client-secret: hunter2}\n"
    assert all("hunter2" not in message for message in messages(text))


def test_duplicate_names_ask_for_a_name() -> None:
    """Two entries on one pipeline need a name each."""
    text = "deployments:\n  - {pipeline: A, source-stage: 0}\n  - {pipeline: A, source-stage: 1}\n"
    assert messages(text) == [
        "Input 'manifest': entry 'A', key 'pipeline': is used by an earlier entry too: "
        "give each entry on the same pipeline a `name`"
    ]


def test_a_name_taken_by_an_earlier_entry_asks_for_another() -> None:
    """An entry whose own `name` is taken is told so, not told to add a name."""
    text = "deployments:\n  - {pipeline: A, source-stage: 0}\n  - {name: A, pipeline: B, source-stage: 0}\n"
    assert messages(text) == [
        "Input 'manifest': entry 'A', key 'name': is already an earlier entry's name: give this entry another"
    ]


def test_a_pipeline_named_as_an_earlier_entry_asks_for_a_name() -> None:
    text = "deployments:\n  - {name: A, pipeline: B, source-stage: 0}\n  - {pipeline: A, source-stage: 0}\n"
    assert messages(text) == [
        "Input 'manifest': entry 'A', key 'pipeline': is an earlier entry's `name`: give this entry a `name` too"
    ]


def test_a_misspelt_entry_key_is_matched_to_the_manifest_keys_too() -> None:
    text = "deployments:\n  - {pipeline: A, source-stage: 0, dependson: [x]}\n"
    assert messages(text) == [
        "Input 'manifest': entry 'A', key 'dependson': is not a key of the manifest (name, depends-on) or a deploy "
        "input. Did you mean: 'depends-on'?"
    ]


def test_a_cycle_is_shown_as_the_cycle() -> None:
    """A dependency cycle is refused, showing the path round it."""
    text = """
defaults: {source-stage: Development}
deployments:
  - {pipeline: A, depends-on: [C]}
  - {pipeline: B, depends-on: [A]}
  - {pipeline: C, depends-on: [B]}
  - {pipeline: D}
"""
    assert messages(text) == [
        "Input 'manifest': entry 'A', key 'depends-on': the dependencies form a cycle: A -> C -> B -> A"
    ]


def test_an_entry_cannot_depend_on_itself() -> None:
    """A self-dependency is named as such."""
    text = "deployments:\n  - {pipeline: A, source-stage: 0, depends-on: [A]}\n"
    assert messages(text) == ["Input 'manifest': entry 'A', key 'depends-on': an entry cannot depend on itself"]


def test_an_entry_is_refused_as_its_own_step_would_be() -> None:
    """What deploy-all would refuse for an entry (here Power BI's fixed stages) is refused for it."""
    text = "deployments:\n  - {pipeline: A, source-stage: Production}\n"
    [message] = messages(text, api="powerbi")
    assert message.startswith("Input 'manifest': entry 'A', key 'target-stage': ")


def test_step_sign_in_errors_are_reported_once() -> None:
    """A missing step input is reported once, by the step, not again for every entry."""
    with pytest.raises(InputErrors) as raised:
        parse_inputs(DeployManyInputs, {"client-secret": "x", "manifest": CASCADE})
    assert [error.message for error in raised.value.errors] == [
        "Input 'tenant-id': required and not supplied",
        "Input 'client-id': required and not supplied",
    ]


@pytest.mark.parametrize(
    "text",
    ["- just\n- a list\n", "deployments: []\n", "deployments:\n  - 42\n", "deploy: x\ndeployments: [{pipeline: A}]\n"],
)
def test_malformed_manifests_are_refused(text: str) -> None:
    """A document that is not a manifest is refused, naming the input."""
    assert all(message.startswith("Input 'manifest': ") for message in messages(text))


def test_invalid_yaml_is_refused() -> None:
    """A YAML syntax error names the input, and the line and column in the manifest."""
    assert messages("deployments:\n  - pipeline: [A\n") == [
        "Input 'manifest': is not valid YAML at line 3, column 1: while parsing a flow sequence: expected ',' or "
        "']', but got '<stream end>'"
    ]
    [message] = messages('{"deployments": [}')
    assert message == "Input 'manifest': is not valid JSON: Expecting value: line 1 column 18 (char 17)"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty: expected a mapping with `deployments`"),
        ("# to do\n", "has no content (comments at most): expected a mapping with `deployments`"),
    ],
)
def test_an_empty_manifest_file_says_so(
    content: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "release.yml").write_text(content)
    monkeypatch.chdir(tmp_path)
    assert messages("release.yml") == [f"Input 'manifest': file 'release.yml': {expected}"]


def test_errors_in_a_manifest_file_name_the_file_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step may read one of several manifests: each error says which file, entry and key."""
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "prod.yml").write_text("deployments:\n  - {pipeline: A, source-stage: 0, colour: red}\n")
    monkeypatch.chdir(tmp_path)
    [message] = messages(" release/prod.yml ")
    assert message.startswith("Input 'manifest': file 'release/prod.yml': entry 'A', key 'colour': "), message


@pytest.mark.parametrize(("value", "expected"), [("1", 1), (" 8 ", 8), ("32", 32)])
def test_max_parallel_accepts_whole_numbers(value: str, expected: int) -> None:
    """max-parallel takes a whole number from 1 to 32."""
    inputs = parse_inputs(DeployManyInputs, {**STEP, "manifest": CASCADE, "max-parallel": value})
    assert inputs.max_parallel == expected


@pytest.mark.parametrize("value", ["0", "33", "-1", "two", "1.5"])
def test_max_parallel_refuses_the_rest(value: str) -> None:
    """Anything else is refused, naming the input and the value."""
    assert messages(CASCADE, **{"max-parallel": value}) == [
        f"Input 'max-parallel': expected a whole number from 1 to 32, got {value!r}"
    ]


def test_defaults_of_the_run_inputs() -> None:
    """max-parallel is 4 and on-failure skip-dependents unless given."""
    inputs = parse_inputs(DeployManyInputs, {**STEP, "manifest": CASCADE})
    assert (inputs.max_parallel, inputs.on_failure) == (4, "skip-dependents")


def test_on_failure_is_one_of_three() -> None:
    """on-failure takes skip-dependents, stop or continue."""
    assert parse_inputs(DeployManyInputs, {**STEP, "manifest": CASCADE, "on-failure": "Stop"}).on_failure == "stop"
    [message] = messages(CASCADE, **{"on-failure": "Skip"})
    assert message == "Input 'on-failure': expected one of skip-dependents, stop, continue, got 'Skip'"


def test_dependents_are_followed_transitively() -> None:
    """An entry's dependents include its dependents' dependents, in manifest order."""
    assert manifest_of(CASCADE).dependents("Shared Models") == ["Sales Analytics", "Finance", "finance-to-prod"]


def test_find_cycle_returns_none_for_a_dag() -> None:
    """A graph without a cycle has none to show."""
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]


def test_yaml_scalars_stay_the_text_written() -> None:
    """YAML 1.1 would read `timeout: 1:30` as base-60 90 (then taken as 90 s), `note: no` as false and
    `note: 1.10` as 1.1: each stays the text written, as a runner's input would be."""
    entry = manifest_of("deployments:\n  - pipeline: A\n    source-stage: Development\n    note: 1.10\n").entries[0]
    assert entry.inputs.note == "1.10"
    entry = manifest_of("deployments:\n  - pipeline: A\n    source-stage: Development\n    note: no\n").entries[0]
    assert entry.inputs.note == "no"
    refused = messages("deployments:\n  - pipeline: A\n    source-stage: Development\n    timeout: 1:30\n")
    assert any("timeout" in message and "1:30" in message for message in refused), refused


def test_plan_is_no_entry_input() -> None:
    """A planned entry would deploy nothing and never let its dependents start: refused, naming the key."""
    refused = messages("deployments:\n  - pipeline: A\n    source-stage: Development\n    plan: true\n")
    assert refused == [
        "Input 'manifest': entry 'A', key 'plan': is not an entry's: a planned entry deploys nothing, so its "
        "dependents could never start"
    ]


def test_depends_on_auto_marks_the_entry_and_keeps_its_explicit_names() -> None:
    """`auto`, alone or among names, asks for inferred edges; the names beside it stay explicit edges."""
    text = """
defaults: {source-stage: Development}
deployments:
  - pipeline: Shared Models
  - {pipeline: Revenue Reports, depends-on: auto}
  - {pipeline: Board Pack, depends-on: [auto, Shared Models]}
"""
    entries = {entry.name: entry for entry in manifest_of(text).entries}
    assert [(e.infer, e.depends_on) for e in entries.values()] == [
        (False, ()),
        (True, ()),
        (True, ("Shared Models",)),
    ]


def test_auto_is_no_entry_name() -> None:
    """An entry called `auto` could not be told from the keyword in depends-on: refused, asking for a name."""
    text = "defaults: {source-stage: Development}\ndeployments:\n  - pipeline: auto\n"
    assert messages(text) == [
        "Input 'manifest': entry 'auto', key 'pipeline': 'auto' is reserved in depends-on: give this entry "
        "another `name`"
    ]


def test_depends_on_auto_in_defaults_applies_to_every_entry_that_names_none() -> None:
    """`defaults: {depends-on: auto}` infers for every entry; an entry's own depends-on replaces it, as any
    entry key replaces its default (`[]`: explicitly none, no inference)."""
    text = """
defaults: {source-stage: Development, depends-on: auto}
deployments:
  - pipeline: Shared Models
  - {pipeline: Revenue Reports, depends-on: [Shared Models]}
  - {pipeline: Board Pack, depends-on: []}
  - {pipeline: Executive Reports, depends-on: [auto, Revenue Reports]}
"""
    entries = {entry.name: entry for entry in manifest_of(text).entries}
    assert [(e.infer, e.depends_on) for e in entries.values()] == [
        (True, ()),
        (False, ("Shared Models",)),
        (False, ()),
        (True, ("Revenue Reports",)),
    ]


@pytest.mark.parametrize("value", ["auto", "[auto]", "[auto, auto]"])
def test_depends_on_auto_in_defaults_may_be_written_as_a_list(value: str) -> None:
    """However `auto` is written, once or repeated, it means the one thing: infer."""
    text = f"defaults: {{source-stage: Development, depends-on: {value}}}\ndeployments:\n  - pipeline: Shared Models\n"
    [entry] = manifest_of(text).entries
    assert (entry.infer, entry.depends_on) == (True, ())


@pytest.mark.parametrize("value", ["[Shared Models]", "[auto, Shared Models]", "{a: b}"])
def test_depends_on_in_defaults_can_only_be_auto(value: str) -> None:
    """Names in defaults would make the named entry depend on itself: refused, saying where they go."""
    text = f"defaults: {{source-stage: Development, depends-on: {value}}}\ndeployments:\n  - pipeline: Shared Models\n"
    assert messages(text) == [
        "Input 'manifest': defaults, key 'depends-on': can only be 'auto' (infer every entry's dependencies from "
        "item relations); name an entry's dependencies in the entry"
    ]
