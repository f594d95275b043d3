"""The Azure Pipelines runner, asserted byte for byte against the agent's logging commands."""

from __future__ import annotations

import io
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabric_ci import cli
from fabric_ci.auth.token import AADSTS_HINTS
from fabric_ci.commands import COMMANDS
from fabric_ci.errors import (
    ApiError,
    AuthenticationError,
    Cancelled,
    DeploymentFailed,
    ErrorDetails,
    InputError,
    InputErrors,
    StepCancelled,
    WaitTimeout,
)
from fabric_ci.models.inputs import input_names
from fabric_ci.models.results import AddUserResult, DeployedItem, DeployManyResult, EntryOutcome, Grant, Progress
from fabric_ci.runners.azure_devops import (
    AzureDevOpsRunner,
    azure_spelling,
    escape_data,
    escape_property,
    input_variable,
    logging_command,
    neutralise,
)
from fabric_ci.runners.github import GitHubRunner
from fabric_ci.runners.local import LocalRunner
from fabric_ci.runners.masking import Redactor
from fabric_ci.runners.summary import GITHUB_WORDING, render_summary
from tests.support.agent_commands import agent_parse, commands, issues, variables

from .builders import BROKEN, OPERATION_ID, PIPELINE_ID, REPORT, TEST, deployment

SECRET = "s3cr%t;value]"
PROPERTY = settings(max_examples=300, derandomize=True, database=None, deadline=None)
ITEMS_JSON = (
    '[{"id":"r-1","name":"Sales report","type":"Report","diffState":"New","status":"Succeeded"},'
    '{"id":"m-1","name":"Sales model","type":"SemanticModel","diffState":"Different","status":"Succeeded"}]'
)


def make(
    env: dict[str, str] | None = None, cli_values: dict[str, str] | None = None, command: str | None = "deploy-all"
) -> tuple[AzureDevOpsRunner, io.StringIO]:
    out = io.StringIO()
    return AzureDevOpsRunner(cli_values or {}, command=command, stdout=out, env=env or {}), out


def output(name: str, value: str) -> str:
    return f"##vso[task.setvariable variable={name};isOutput=true;issecret=false;]{value}\n"


# Characters .NET's culture-sensitive IndexOf may skip (controls, format characters, default ignorables).
IGNORABLE = [
    chr(c)
    for c in range(sys.maxunicode + 1)
    if unicodedata.category(chr(c)) in ("Cc", "Cf") or 0xFE00 <= c <= 0xFE0F or c in (0x034F, 0x3164, 0xFFA0)
]


def culture_view(text: str) -> str:
    """The text as a culture-sensitive search sees it: ignorable characters gone, case kept aside."""
    ignorable = set(IGNORABLE)
    return "".join(ch for ch in text if ch not in ignorable).lower()


# --- inputs ------------------------------------------------------------------------------------------------------


class TestReadInputs:
    def test_camel_case_variables_trimmed(self) -> None:
        """Inputs come from INPUT_ + the camelCase name upper-cased, trimmed of surrounding whitespace."""
        assert input_variable("source-stage") == "INPUT_SOURCESTAGE"
        assert input_variable("client-certificate-send-chain") == "INPUT_CLIENTCERTIFICATESENDCHAIN"
        runner, out = make({"INPUT_SOURCESTAGE": "  Development \n", "INPUT_PIPELINE": "Sales analytics"})
        assert runner.read_inputs(["pipeline", "source-stage"]) == {
            "pipeline": "Sales analytics",
            "source-stage": "Development",
        }
        assert out.getvalue() == ""

    def test_kebab_case_variables_are_not_read(self) -> None:
        """GitHub's spelling (INPUT_SOURCE-STAGE) is not an Azure Pipelines input."""
        runner, _ = make({"INPUT_SOURCE-STAGE": "Development", "INPUT_SOURCE_STAGE": "Development"})
        assert runner.read_inputs(["source-stage"]) == {}

    def test_empty_inputs_are_left_out(self) -> None:
        """Empty or blank inputs are not given."""
        runner, _ = make({"INPUT_TARGETSTAGE": "", "INPUT_NOTE": "   "})
        assert runner.read_inputs(["target-stage", "note", "wait"]) == {}

    def test_command_line_values_win(self) -> None:
        """In a `script:` step the command line's value is used instead of the INPUT_ variable."""
        runner, _ = make({"INPUT_TIMEOUT": "30m"}, {"timeout": "90s"})
        assert runner.read_inputs(["timeout"]) == {"timeout": "90s"}

    def test_a_secret_from_the_command_lines_variable_in_a_script_step(self) -> None:
        """FABRIC_CI_CLIENT_SECRET (what `fabric-ci --help` offers) is read when no INPUT_ variable is set."""
        runner, out = make({"FABRIC_CI_CLIENT_SECRET": "from-script-env", "FABRIC_CI_PIPELINE": "ignored"})
        assert runner.read_inputs(["client-secret", "pipeline"]) == {"client-secret": "from-script-env"}
        assert out.getvalue() == "##vso[task.setsecret]from-script-env\n"
        runner, _ = make({"FABRIC_CI_CLIENT_SECRET": "from-script-env", "INPUT_CLIENTSECRET": "from-the-task"})
        assert runner.read_inputs(["client-secret"]) == {"client-secret": "from-the-task"}

    def test_secret_is_registered_before_anything_else(self) -> None:
        """The client secret is registered with task.setsecret, escaped, and nothing is printed before it."""
        env = {"INPUT_CLIENTSECRET": f" {SECRET} ", "INPUT_TENANTID": "contoso.com"}
        runner, out = make(env)
        values = runner.read_inputs(input_names(COMMANDS["deploy-all"].inputs))
        assert values == {"tenant-id": "contoso.com", "client-secret": SECRET}
        # `]` and `;` need no escape in data: the command's `]` is the first one.
        assert out.getvalue() == "##vso[task.setsecret]s3cr%AZP25t;value]\n"
        assert commands(out.getvalue(), "task.setsecret") == [({}, SECRET)]

    def test_every_secret_input_and_its_escaped_forms(self) -> None:
        """All four secret inputs are registered, each as given and as an input error would echo it."""
        env = {
            "INPUT_CLIENTSECRET": "back\\slash-secret",
            "INPUT_CLIENTCERTIFICATEPASSWORD": "pfx-password",
            "INPUT_PASSWORD": "user-password",
        }
        runner, out = make(env)
        runner.read_inputs(input_names(COMMANDS["add-user"].inputs))
        assert out.getvalue() == (
            "##vso[task.setsecret]back\\slash-secret\n"
            "##vso[task.setsecret]back\\\\slash-secret\n"
            "##vso[task.setsecret]pfx-password\n"
            "##vso[task.setsecret]user-password\n"
        )

    def test_a_multiline_secret_is_registered_line_by_line(self) -> None:
        """The agent masks line by line: each line is registered, the one-line escaped form too, never a newline."""
        runner, out = make({"INPUT_CLIENTSECRET": "first-line\nab"})
        runner.read_inputs(["client-secret"])
        assert out.getvalue().splitlines()[:3] == [
            "##vso[task.setsecret]first-line",
            "##vso[task.setsecret]ab",
            "##vso[task.setsecret]first-line\\nab",
        ]

    def test_a_short_secret_is_registered_and_the_log_warned(self) -> None:
        """A short secret is registered all the same, with a warning naming the input in camelCase."""
        runner, out = make({"INPUT_CLIENTSECRET": "abc"})
        runner.read_inputs(["client-secret"])
        assert out.getvalue() == (
            "##vso[task.setsecret]abc\n"
            "##vso[task.logissue type=warning;]Input 'clientSecret' is only 3 characters long: Azure Pipelines "
            "hides every occurrence of a secret in this log, even inside other words, so it may show *** in odd "
            "places. Check that it holds the whole secret.\n"
        )

    def test_the_jobs_access_token_is_redacted_but_not_registered_again(self) -> None:
        """SYSTEM_ACCESSTOKEN (masked by the agent already) is kept out of everything the runner writes."""
        token = "ado-access-token-value-123"
        runner, out = make({"SYSTEM_ACCESSTOKEN": token})
        runner.read_inputs(["client-secret"])
        runner.warning(f"the service echoed {token}")
        assert out.getvalue() == "##vso[task.logissue type=warning;]the service echoed ***\n"


# --- formats -----------------------------------------------------------------------------------------------------


class TestEscaping:
    def test_data_escapes_percent_first_then_cr_and_lf(self) -> None:
        """Data: `%` -> `%AZP25` first, then CR -> `%0D`, LF -> `%0A`; `;` and `]` stay."""
        assert escape_data("100% done;\r\nnext]") == "100%AZP25 done;%0D%0Anext]"
        assert escape_data("%0A is text") == "%AZP250A is text"

    def test_properties_escape_bracket_and_semicolon_too(self) -> None:
        """Property values also escape `]` and `;`, which would end the properties or a property."""
        assert escape_property("a;b]c%\n") == "a%3Bb%5Dc%AZP25%0A"

    def test_the_command_line(self) -> None:
        """`##vso[name key=value;...]data`, empty properties left out, no space without properties."""
        assert logging_command("task.logissue", {"type": "error", "code": None, "sourcepath": ""}, "m") == (
            "##vso[task.logissue type=error;]m"
        )
        assert logging_command("task.debug", None, "d") == "##vso[task.debug]d"
        assert logging_command("task.debug", {"x": ""}, "d") == "##vso[task.debug]d"

    @PROPERTY
    @given(st.text(alphabet="%AZP2503BDa;]\r\n #v[so"), st.text(alphabet="%AZP2503BD;]\r\n="))
    def test_the_agent_reads_back_exactly_what_was_written(self, data: str, value: str) -> None:
        """Whatever the text, the agent's parser returns the data and property values as given."""
        line = logging_command("task.setvariable", {"variable": "v", "note": value or None}, data)
        parsed = agent_parse(line)
        assert parsed is not None
        name, properties, read = parsed
        assert name == "task.setvariable"
        assert read == data
        assert properties.get("note", "") == value


class TestLogCommands:
    def test_debug_warning_and_plain_lines(self) -> None:
        """Debug lines and warnings are logging commands with escaped data; info and notices plain lines."""
        runner, out = make()
        runner.debug("GET /v1\nanswer 100%")
        runner.warning("slow; retrying")
        runner.info("Found 3 stages")
        runner.notice("Workspace already assigned")
        assert out.getvalue() == (
            "##vso[task.debug]GET /v1%0Aanswer 100%AZP25\n"
            "##vso[task.logissue type=warning;]slow; retrying\n"
            "Found 3 stages\n"
            "Workspace already assigned\n"
        )

    def test_phase_is_a_group_closed_even_on_error_and_never_nested(self) -> None:
        """A phase is ##[group] ... ##[endgroup], also when the body raises; an inner phase is a plain line."""
        runner, out = make()

        def body() -> None:
            with runner.phase("Resolving names"), runner.phase("Inner"):
                runner.info("found 3 stages")
                raise KeyError("x")

        with pytest.raises(KeyError):
            body()
        assert out.getvalue() == "##[group]Resolving names\nInner\nfound 3 stages\n##[endgroup]\n"

    def test_messages_use_azure_pipelines_names(self) -> None:
        """fabric-ci's own messages name inputs, outputs and commands as an Azure Pipelines user writes them."""
        runner, out = make()
        runner.warning("client-secret is ignored: auth is oidc.")
        runner.info("Deployment accepted: operation-id 42")
        runner.debug("follow it with wait-for-deployment")
        assert out.getvalue() == (
            "##vso[task.logissue type=warning;]clientSecret is ignored: auth is oidc.\n"
            "Deployment accepted: operationId 42\n"
            "##vso[task.debug]follow it with FabricCiWaitForDeployment\n"
        )

    def test_progress_prints_on_change_or_every_30_seconds(self) -> None:
        """As on GitHub: a progress line when status or steps change, otherwise at most every 30 s."""
        runner, out = make()
        for elapsed, status, done in [(0, "Running", 0), (5, "Running", 0), (31, "Running", 0), (32, "Succeeded", 6)]:
            runner.progress(Progress(elapsed_seconds=elapsed, status=status, steps_done=done, steps_total=6))
        assert out.getvalue() == (
            "Running: 0/6 steps done, 00:00 elapsed\n"
            "Running: 0/6 steps done, 00:31 elapsed\n"
            "Succeeded: 6/6 steps done, 00:32 elapsed\n"
        )

    def test_stdout_is_utf8_whatever_the_locale(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The agent decodes a task's output as UTF-8: a cp1252 stdout (Windows, a pipe) is switched to UTF-8."""
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding="cp1252")
        monkeypatch.setattr(sys, "stdout", stream)
        AzureDevOpsRunner({}, env={}).info("販売 Übersicht")
        stream.flush()
        assert raw.getvalue() == "販売 Übersicht\n".encode()


class TestNeutralise:
    def test_the_rewrite(self) -> None:
        """A space after the `##`: `##vso[` reads `## vso[`, `##[` reads `## [`; other text is unchanged."""
        assert neutralise("a ##vso[task.complete result=Failed;]x") == "a ## vso[task.complete result=Failed;]x"
        assert neutralise("##[group]x ##[error]y") == "## [group]x ## [error]y"
        assert neutralise("###vso[x] ##VSO[x] ##vso") == "### vso[x] ## VSO[x] ## vso"
        assert neutralise("# vso[ ## x #[ C## notes #1 [x]") == "# vso[ ## x #[ C## notes #1 [x]"

    def test_characters_a_culture_sensitive_search_skips_do_not_hide_a_command(self) -> None:
        """`#<zero-width space>#vso[` is `##vso[` to .NET's IndexOf: each such character is seen through."""
        for char in IGNORABLE:
            text = f"#{char}#{char}vso[task.complete]"
            assert neutralise(text) == f"#{char}#{char} vso[task.complete]", hex(ord(char))
            assert "##vso" not in culture_view(neutralise(text))
        assert neutralise("#\u200b#[group]") == "#\u200b# [group]"

    @PROPERTY
    @given(st.text(alphabet=st.sampled_from(["#", "v", "s", "o", "V", "[", "]", " ", "\u200b", "\x00", "\u00ad", "x"])))
    def test_no_text_keeps_a_command_opening(self, text: str) -> None:
        """Whatever the service writes, neutralised text holds no `##vso` and no `##[`, even to a culture search."""
        seen = culture_view(neutralise(text))
        assert "##vso" not in seen
        assert "##[" not in seen

    def test_service_text_everywhere_the_runner_writes_it(self, tmp_path: Path) -> None:
        """Item names, item errors, messages, phase titles and output values run no command and draw no warning."""
        evil = "x ##vso[task.setvariable variable=status]Succeeded ##[error]y"
        item = DeployedItem(id="i", name=evil, type="Report", status="Failed", error=f"bad\n{evil}")
        result = deployment(status="Failed", items=(item,), note=evil, pipeline_name=evil)
        runner, out = make({"AGENT_TEMPDIRECTORY": str(tmp_path)})
        with runner.phase(f"Resolving {evil}"):
            runner.info(f"Found {evil}")
            runner.debug(evil)
            runner.warning(evil)
        runner.fail(DeploymentFailed(f"Deployment failed: {evil}", result), result)
        for line in out.getvalue().splitlines():
            parsed = agent_parse(line)
            if parsed is None:
                assert "##vso" not in line
                assert not line.startswith("##[") or line.startswith(("##[group]", "##[endgroup]")), line
                assert "##[" not in line[2:]
                continue
            # Our command, first in the line; what the agent unescapes (an issue's lines) holds none.
            assert line.startswith("##vso[")
            _, properties, data = parsed
            assert "##vso" not in data
            assert "##[" not in data
            assert all("##" not in value for value in properties.values())
        assert variables(out.getvalue())["status"] == "Failed"
        assert f"'{neutralise(evil)}'" in issues(out.getvalue())[1]


# --- outputs, summary, result -------------------------------------------------------------------------------------


class TestOutputs:
    def test_interim_outputs_set_the_variable_again(self) -> None:
        """interim sets `results` at once and again on each change (the agent keeps the last); nothing else."""
        runner, out = make()
        running = EntryOutcome(name="a", status="Running", pipeline_id=PIPELINE_ID, operation_id=OPERATION_ID)
        runner.interim(
            DeployManyResult(
                command="deploy-many",
                entries=(running.model_copy(update={"status": "NotStarted", "operation_id": None}),),
            )
        )
        runner.interim(DeployManyResult(command="deploy-many", entries=(running,)))
        first = f'{{"a":{{"pipeline-id":"{PIPELINE_ID}","operation-id":null,"status":"NotStarted",'
        second = f'{{"a":{{"pipeline-id":"{PIPELINE_ID}","operation-id":"{OPERATION_ID}","status":"Running",'
        tail = '"duration-seconds":null,"deployed-items":[]}}'
        assert out.getvalue() == output("results", first + tail) + output("results", second + tail)

    def test_operation_id_is_written_at_once(self) -> None:
        """deployment_accepted writes the operationId output variable immediately."""
        runner, out = make()
        runner.deployment_accepted(OPERATION_ID)
        assert out.getvalue() == output("operationId", OPERATION_ID)

    def test_publish_writes_every_output_once_in_camel_case(self, tmp_path: Path) -> None:
        """Every output of the result, camelCased, each once; the operation id already written is not repeated."""
        runner, out = make({"AGENT_TEMPDIRECTORY": str(tmp_path)})
        runner.deployment_accepted(OPERATION_ID)
        runner.publish(deployment())
        summary = tmp_path / "fabric-ci deploy-all.md"
        assert out.getvalue() == (
            output("operationId", OPERATION_ID)
            + output("status", "Succeeded")
            + output("pipelineId", PIPELINE_ID)
            + output("sourceStageId", "11111111-1111-1111-1111-111111111111")
            + output("targetStageId", TEST.id)
            + output("deployedItems", ITEMS_JSON)
            + output("durationSeconds", "9")
            + f"##vso[task.uploadsummary]{summary}\n"
            + "Deployed 2 items from Development to Test in 9s\n"
            + "##vso[task.complete result=Succeeded;]Deployed 2 items from Development to Test in 9s\n"
        )

    def test_values_are_escaped_and_read_back_whole(self) -> None:
        """A value with %, ;, ] and a newline reaches the agent as it is."""
        result = AddUserResult(
            principal="u;1]%", principal_type="User",
            pipeline=Grant(kind="pipeline", id="p\nq", name="P", role="Admin"),
        )  # fmt: skip
        runner, out = make()
        runner.publish(result)
        assert output("pipelineId", "p%0Aq") in out.getvalue()
        assert output("principal", "u;1]%AZP25") in out.getvalue()
        assert variables(out.getvalue()) == {
            "pipelineId": "p\nq",
            "principal": "u;1]%",
            "role": "Admin",
            "workspaceId": "",
            "workspaceRole": "",
            "changed": "true",
        }


class TestSummary:
    def test_the_summary_is_githubs_in_azure_pipelines_words(self, tmp_path: Path) -> None:
        """The same Markdown as on GitHub, but naming the FabricCiWaitForDeployment task and operationId."""
        result = deployment(status="Running", items=(), duration_seconds=None, waited=False)
        runner, _ = make({"AGENT_TEMPDIRECTORY": str(tmp_path)})
        runner.publish(result)
        text = (tmp_path / "fabric-ci deploy-all.md").read_text(encoding="utf-8")
        github = render_summary(result, wording=GITHUB_WORDING)
        assert "`wait-for-deployment` action with `operation-id: " in github
        assert text == github.replace(
            "`wait-for-deployment` action with `operation-id: ", "`FabricCiWaitForDeployment` task with `operationId: "
        )
        assert "wait-for-deployment" not in text
        assert "operation-id" not in text

    def test_error_sections_and_cut_tables_are_respelled(self, tmp_path: Path) -> None:
        """What went wrong names inputs in camelCase, and a cut table points at the deployedItems output."""
        long = DeployedItem(id="x", name="n" * 400, type="Report", diff_state="New", status="Succeeded")
        result = deployment(status="Running", items=(long,) * 1000)
        error = WaitTimeout("Still running: follow it with wait-for-deployment and operation-id 1.", result)
        runner, _ = make({"AGENT_TEMPDIRECTORY": str(tmp_path)})
        runner.fail(error)
        text = (tmp_path / "fabric-ci deploy-all.md").read_text(encoding="utf-8")
        assert "listed in the `deployedItems` output._" in text
        assert "follow it with FabricCiWaitForDeployment and operationId 1." in text

    def test_input_errors_in_the_summary_read_as_in_the_log(self, tmp_path: Path) -> None:
        """Each invalid input is listed with the same words as its logissue line."""
        env = {"AGENT_TEMPDIRECTORY": str(tmp_path), "FABRIC_CI_CONNECTION": "azureSubscription"}
        env["FABRIC_CI_CONNECTION_INPUTS"] = "tenantId"
        runner, out = make(env)
        runner.fail(InputErrors([InputError("tenant-id", "expected a GUID"), InputError("source-stage", "missing")]))
        text = (tmp_path / "fabric-ci deploy-all.md").read_text(encoding="utf-8")
        for message in issues(out.getvalue()):
            assert f"- {message}\n" in text

    def test_two_steps_with_the_same_command_get_two_files(self, tmp_path: Path) -> None:
        """A second step of the job with the same command attaches a second file; neither is overwritten."""
        first, out1 = make({"AGENT_TEMPDIRECTORY": str(tmp_path)})
        first.publish(deployment())
        second, out2 = make({"AGENT_TEMPDIRECTORY": str(tmp_path)})
        second.publish(deployment(status="Failed", items=(BROKEN,)))
        assert commands(out1.getvalue(), "task.uploadsummary") == [({}, str(tmp_path / "fabric-ci deploy-all.md"))]
        assert commands(out2.getvalue(), "task.uploadsummary") == [({}, str(tmp_path / "fabric-ci deploy-all (2).md"))]
        assert "✅" in (tmp_path / "fabric-ci deploy-all.md").read_text(encoding="utf-8")
        assert "❌" in (tmp_path / "fabric-ci deploy-all (2).md").read_text(encoding="utf-8")

    def test_the_path_is_absolute_and_escaped(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A relative AGENT_TEMPDIRECTORY is made absolute; a % in the path is escaped in the command."""
        folder = tmp_path / "50%"
        folder.mkdir()
        monkeypatch.chdir(tmp_path)
        runner, out = make({"AGENT_TEMPDIRECTORY": "50%"}, command="add-user")
        runner.fail(ApiError(ErrorDetails(403, "Forbidden", "no")))
        assert f"##vso[task.uploadsummary]{tmp_path}/50%AZP25/fabric-ci add-user.md\n" in out.getvalue()

    def test_without_a_temporary_directory_a_warning_and_still_success(self) -> None:
        """No AGENT_TEMPDIRECTORY: a warning saying why there is no summary, and the step still succeeds."""
        runner, out = make()
        runner.publish(deployment())
        lines = out.getvalue().splitlines()
        assert lines[-3].startswith("##vso[task.logissue type=warning;]AGENT_TEMPDIRECTORY is not set, so no summary")
        assert lines[-1] == "##vso[task.complete result=Succeeded;]Deployed 2 items from Development to Test in 9s"
        assert "task.uploadsummary" not in out.getvalue()

    def test_an_unwritable_folder_is_a_warning(self, tmp_path: Path) -> None:
        """A folder that cannot take the file: a warning, no upload, and the result as it was."""
        runner, out = make({"AGENT_TEMPDIRECTORY": str(tmp_path / "missing")})
        runner.publish(deployment())
        [warning] = issues(out.getvalue(), "warning")
        assert warning.startswith(f"The summary could not be written to {tmp_path / 'missing'} (")
        assert "task.uploadsummary" not in out.getvalue()
        assert "result=Succeeded;" in out.getvalue()

    def test_a_failure_without_result_names_the_file_after_the_command(self, tmp_path: Path) -> None:
        """Without a result the command given to the runner names the file; without one, plain fabric-ci."""
        runner, _ = make({"AGENT_TEMPDIRECTORY": str(tmp_path)}, command="assign-workspace")
        runner.fail(InputError("command line", "unknown option(s): --x"))
        runner, _ = make({"AGENT_TEMPDIRECTORY": str(tmp_path)}, command=None)
        runner.fail(InputError("command", "required and not supplied"))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["fabric-ci assign-workspace.md", "fabric-ci.md"]


class TestFail:
    def test_one_issue_per_invalid_input_named_in_camel_case(self, tmp_path: Path) -> None:
        """Each invalid input is an error issue naming it as the pipeline does, with names in the text respelled."""
        runner, out = make({"AGENT_TEMPDIRECTORY": str(tmp_path)})
        error = InputErrors(
            [
                InputError("source-stage", "required and not supplied"),
                InputError("target-stage", "is the same stage as source-stage; see deploy-all and deployed-items"),
                InputError("pipeline", "no pipeline named 'Sale'.", candidates=["Sales"]),
            ]
        )
        runner.fail(error)
        summary = tmp_path / "fabric-ci deploy-all.md"
        assert out.getvalue() == (
            "##vso[task.logissue type=error;]Input 'sourceStage': required and not supplied\n"
            "##vso[task.logissue type=error;]Input 'targetStage': is the same stage as sourceStage; see "
            "FabricCiDeployAll and deployedItems\n"
            "##vso[task.logissue type=error;]Input 'pipeline': no pipeline named 'Sale'. Did you mean: 'Sales'?\n"
            f"##vso[task.uploadsummary]{summary}\n"
            "##vso[task.complete result=Failed;]Input 'sourceStage': required and not supplied; Input "
            "'targetStage': is the same stage as sourceStage; see FabricCiDeployAll and deployedItems; Input "
            "'pipeline': no pipeline named 'Sale'. Did you mean: 'Sales'?\n"
        )

    def test_inputs_from_a_service_connection_are_named_as_such(self) -> None:
        """An input the wrapper took from a service connection is named with the connection's input."""
        env = {"FABRIC_CI_CONNECTION": "azureSubscription", "FABRIC_CI_CONNECTION_INPUTS": "tenantId, clientId"}
        runner, out = make(env)
        runner.fail(InputErrors([InputError("tenant-id", "expected a GUID"), InputError("pipeline", "missing")]))
        assert issues(out.getvalue()) == [
            "Input tenantId (from the service connection in azureSubscription): expected a GUID",
            "Input 'pipeline': missing",
        ]

    def test_connection_inputs_without_a_connection_name_nothing(self) -> None:
        """FABRIC_CI_CONNECTION_INPUTS alone (no connection named) changes no message."""
        runner, out = make({"FABRIC_CI_CONNECTION_INPUTS": "tenantId"})
        runner.fail(InputError("tenant-id", "expected a GUID"))
        assert issues(out.getvalue()) == ["Input 'tenantId': expected a GUID"]

    def test_a_failed_deployment_has_one_issue_per_failed_item_and_its_outputs(self) -> None:
        """One error for the deployment, one per failed item, the outputs as known, then the Failed result."""
        result = deployment(status="Failed", items=(REPORT, BROKEN))
        runner, out = make()
        runner.fail(DeploymentFailed(f"Deployment {OPERATION_ID} failed: 1 of 2 items failed.", result), result)
        lines = out.getvalue().splitlines()
        assert lines[:2] == [
            f"##vso[task.logissue type=error;]Deployment {OPERATION_ID} failed: 1 of 2 items failed.",
            "##vso[task.logissue type=error;]Item 'Finance, EU: model' (SemanticModel) failed: Refresh failed: "
            "column <Amount>%0Ais missing | see log",
        ]
        assert variables(out.getvalue())["status"] == "Failed"
        assert lines[-1] == f"##vso[task.complete result=Failed;]Deployment {OPERATION_ID} failed: 1 of 2 items failed."

    def test_item_names_are_not_respelled(self) -> None:
        """An item named like a command keeps its name: only fabric-ci's words are respelled."""
        item = DeployedItem(id="i", name="deploy-all", type="Notebook", status="Failed", error="source-stage missing")
        result = deployment(status="Failed", items=(item,))
        runner, out = make()
        runner.fail(DeploymentFailed("failed", result))
        assert issues(out.getvalue())[1] == "Item 'deploy-all' (Notebook) failed: source-stage missing"

    def test_other_errors_are_respelled(self) -> None:
        """A sign-in error's fix names the input as the pipeline does."""
        runner, out = make()
        hint = AADSTS_HINTS["AADSTS7000215"]
        runner.fail(AuthenticationError(f"AADSTS7000215: Invalid client secret provided. {hint}"))
        assert issues(out.getvalue()) == [
            "AADSTS7000215: Invalid client secret provided. The client secret is wrong. Check `clientSecret` against "
            "the app registration (the secret's value, not its id)."
        ]

    def test_a_cancel_says_how_to_follow_the_deployment(self) -> None:
        """A cancel is Failed, with the operation id and the FabricCiWaitForDeployment task to follow it."""
        result = deployment(status="Running", items=())
        cancelled = StepCancelled(
            f"Cancelled by SIGTERM while waiting. Deployment {OPERATION_ID} was left running (status Running), not "
            f"cancelled: follow it with wait-for-deployment and operation-id {OPERATION_ID}.",
            Cancelled(15),
            result,
        )
        runner, out = make()
        runner.fail(cancelled)
        expected = (
            f"Cancelled by SIGTERM while waiting. Deployment {OPERATION_ID} was left running (status Running), not "
            f"cancelled: follow it with FabricCiWaitForDeployment and operationId {OPERATION_ID}."
        )
        assert issues(out.getvalue()) == [expected]
        assert out.getvalue().endswith(f"##vso[task.complete result=Failed;]{expected}\n")
        assert cancelled.exit_code == 143

    def test_a_cancel_without_the_follow_up_gets_it_from_the_accepted_id(self) -> None:
        """A cancel whose message lacks the way to follow it gets it added, from the id published earlier."""
        runner, out = make()
        runner.deployment_accepted(OPERATION_ID)
        runner.fail(StepCancelled("Cancelled by SIGINT before deploy-all finished.", Cancelled(2)))
        expected = (
            f"Cancelled by SIGINT before FabricCiDeployAll finished. Deployment {OPERATION_ID} was left running, not "
            f"cancelled: follow it with the FabricCiWaitForDeployment task and operationId {OPERATION_ID}."
        )
        assert issues(out.getvalue()) == [expected]
        assert out.getvalue().endswith(f"##vso[task.complete result=Failed;]{expected}\n")

    def test_a_cancel_before_any_deployment_adds_nothing(self) -> None:
        """Cancelled before a deployment was requested: nothing to follow, nothing added."""
        runner, out = make()
        runner.fail(StepCancelled("Cancelled by SIGTERM before the deployment was requested.", Cancelled(15)))
        assert issues(out.getvalue()) == ["Cancelled by SIGTERM before the deployment was requested."]


class TestSecrets:
    def test_a_secret_never_appears_outside_its_registration(self, tmp_path: Path) -> None:
        """Registered first; afterwards no line, output or summary holds the secret or an escaped form of it."""
        env = {"INPUT_CLIENTSECRET": SECRET, "INPUT_PIPELINE": "Sales analytics", "AGENT_TEMPDIRECTORY": str(tmp_path)}
        runner, out = make(env)
        runner.read_inputs(input_names(COMMANDS["deploy-all"].inputs))
        with runner.phase(f"Deploying {SECRET}"):
            runner.info(f"echo {SECRET}")
            runner.deployment_accepted(OPERATION_ID)
        item = DeployedItem(id="i", name=SECRET, type="Report", status="Failed", error=f"bad {SECRET}")
        result = deployment(status="Failed", items=(item,), note=SECRET)
        runner.fail(DeploymentFailed(f"failed near {SECRET}", result), result)
        lines = out.getvalue().splitlines()
        assert lines[0] == "##vso[task.setsecret]s3cr%AZP25t;value]"
        rest = "\n".join(line for line in lines if not line.startswith("##vso[task.setsecret]"))
        summary = (tmp_path / "fabric-ci deploy-all.md").read_text(encoding="utf-8")
        for text in (rest, "\n".join(data for _, data in commands(rest, "task.logissue")), summary):
            assert SECRET not in text
            assert escape_data(SECRET) not in text
            assert "s3cr%" not in text
        assert "***" in summary

    @pytest.mark.parametrize("secret", ["wrong", "client", "secret", "the"])
    def test_respelled_messages_stay_readable_around_an_awkward_secret(self, secret: str) -> None:
        """fabric-ci's hint, respelled, keeps its words whatever the secret: the respelled literal protects them."""
        runner, out = make({"INPUT_CLIENTSECRET": secret})
        runner.read_inputs(["client-secret"])
        runner.fail(AuthenticationError(f"AADSTS7000215: x. {AADSTS_HINTS['AADSTS7000215']}"))
        assert issues(out.getvalue()) == [f"AADSTS7000215: x. {azure_spelling(AADSTS_HINTS['AADSTS7000215'])}"]

    def test_a_secret_spelled_out_by_respelling_is_hidden(self) -> None:
        """A secret that respelling would spell out of an echoed value (`source-stage` -> `sourceStage`) is hidden."""
        runner, out = make({"INPUT_CLIENTSECRET": "sourceStage"})
        runner.read_inputs(["client-secret"])
        runner.warning("the service said: source-stage")
        assert issues(out.getvalue(), "warning")[-1] == "the service said: ***"


class TestComposition:
    @pytest.mark.parametrize("value", ["True", "true", "TRUE"])
    def test_tf_build_selects_the_azure_pipelines_runner(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        """TF_BUILD=True (any case) selects this runner, with the command; GITHUB_ACTIONS is checked first."""
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        monkeypatch.setenv("TF_BUILD", value)
        runner = cli.make_runner({"pipeline": "P"}, "text", command="wait-for-deployment")
        assert isinstance(runner, AzureDevOpsRunner)
        assert runner._summary_name(None) == "fabric-ci wait-for-deployment"
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        assert isinstance(cli.make_runner({}, "text"), GitHubRunner)

    @pytest.mark.parametrize("value", ["", "False", "1"])
    def test_anything_else_is_not_azure_pipelines(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        """Without TF_BUILD=True (and outside GitHub) the terminal runner is used."""
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        monkeypatch.setenv("TF_BUILD", value)
        assert isinstance(cli.make_runner({}, "text"), LocalRunner)

    def test_the_redactor_protects_both_spellings(self) -> None:
        """The plain redactor would hide `wrong` in the respelled hint; the runner's keeps it."""
        hint = azure_spelling(AADSTS_HINTS["AADSTS7000215"])
        plain = Redactor()
        plain.add("wrong")
        assert "***" in plain.text(hint)
        runner, _ = make()
        runner.mask("wrong")
        assert runner._redactor.text(hint) == hint


def test_runners_share_fail_and_registration() -> None:
    """The three runners are one StepRunner each: fail, read_inputs and mask are written once."""
    from fabric_ci.runners.step import StepRunner

    for runner_class in (AzureDevOpsRunner, GitHubRunner, LocalRunner):
        assert issubclass(runner_class, StepRunner)
        for method in ("fail", "read_inputs", "mask", "publish", "deployment_accepted"):
            attribute: Any = getattr(runner_class, method)
            assert attribute is getattr(StepRunner, method), (runner_class.__name__, method)
