"""The GitHub Actions runner, asserted byte for byte against the runner's formats."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from fabric_ci.commands import COMMANDS
from fabric_ci.errors import ApiError, DeploymentFailed, ErrorDetails, InputError, InputErrors, WaitTimeout
from fabric_ci.models.inputs import input_names
from fabric_ci.models.results import AddUserResult, DeployManyResult, EntryOutcome, Grant, Progress
from fabric_ci.runners.github import GitHubRunner, RunnerEnvironmentError
from fabric_ci.runners.summary import render_summary

from .builders import BROKEN, OPERATION_ID, PIPELINE_ID, REPORT, TEST, deployment
from .conftest import GitHubStep

SECRET = "s3cr%t~value"
ITEMS_JSON = (
    '[{"id":"r-1","name":"Sales report","type":"Report","diffState":"New","status":"Succeeded"},'
    '{"id":"m-1","name":"Sales model","type":"SemanticModel","diffState":"Different","status":"Succeeded"}]'
)


def make(tokens: Callable[[], str], cli: dict[str, str] | None = None) -> tuple[GitHubRunner, io.StringIO]:
    out = io.StringIO()
    return GitHubRunner(cli or {}, stdout=out, token_factory=tokens), out


def heredoc(name: str, value: str, token: str) -> str:
    return f"{name}<<ghadelimiter_{token}\n{value}\nghadelimiter_{token}\n"


class TestReadInputs:
    def test_hyphenated_names_and_trimming(
        self, github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Inputs come from INPUT_<NAME> with hyphens kept, trimmed of surrounding whitespace."""
        monkeypatch.setenv("INPUT_SOURCE-STAGE", "  Development \n")
        monkeypatch.setenv("INPUT_PIPELINE", "Sales analytics")
        runner, out = make(tokens)
        assert runner.read_inputs(["pipeline", "source-stage"]) == {
            "pipeline": "Sales analytics",
            "source-stage": "Development",
        }
        assert out.getvalue() == ""

    def test_empty_inputs_are_left_out(
        self, github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Declared but empty inputs (how the runner passes unset ones) are not returned."""
        monkeypatch.setenv("INPUT_TARGET-STAGE", "")
        monkeypatch.setenv("INPUT_NOTE", "   ")
        runner, _ = make(tokens)
        assert runner.read_inputs(["target-stage", "note", "wait"]) == {}

    def test_cli_values_win(
        self, github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A value given on the command line is used instead of the INPUT_ variable."""
        monkeypatch.setenv("INPUT_TIMEOUT", "30m")
        runner, _ = make(tokens, {"timeout": "90s"})
        assert runner.read_inputs(["timeout"]) == {"timeout": "90s"}

    def test_secret_is_masked_before_anything_else(
        self, github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The client secret is registered with ::add-mask:: (escaped) and nothing is printed before it."""
        monkeypatch.setenv("INPUT_CLIENT-SECRET", f" {SECRET} ")
        monkeypatch.setenv("INPUT_TENANT-ID", "contoso.com")
        runner, out = make(tokens)
        values = runner.read_inputs(input_names(COMMANDS["deploy-all"].inputs))
        assert values == {"tenant-id": "contoso.com", "client-secret": SECRET}
        assert out.getvalue() == "::add-mask::s3cr%25t~value\n"

    def test_secret_from_the_command_line_is_masked(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """A secret passed as a CLI value is masked just the same."""
        runner, out = make(tokens, {"client-secret": "abc~secret"})
        runner.read_inputs(["client-secret"])
        assert out.getvalue() == "::add-mask::abc~secret\n"

    def test_missing_output_file_fails_before_any_change(
        self, github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without GITHUB_OUTPUT, reading inputs fails with an error that names the variable (after masking)."""
        monkeypatch.delenv("GITHUB_OUTPUT")
        monkeypatch.setenv("INPUT_CLIENT-SECRET", "abc~secret")
        runner, out = make(tokens)
        with pytest.raises(RunnerEnvironmentError, match="GITHUB_OUTPUT is not set"):
            runner.read_inputs(["client-secret"])
        assert out.getvalue() == "::add-mask::abc~secret\n"


class TestLogCommands:
    def test_annotations_escape_percent_cr_lf(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """Messages escape % first, then CR and LF; colons and commas stay in message data."""
        runner, out = make(tokens)
        runner.notice("100% done:\r\nnext, then")
        runner.warning("50%25")
        runner.debug("a\nb")
        assert out.getvalue() == ("::notice::100%25 done:%0D%0Anext, then\n::warning::50%2525\n::debug::a%0Ab\n")

    def test_properties_escape_colon_and_comma(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """Property values also escape : and , so they cannot end the property list."""
        runner, out = make(tokens)
        runner.error("msg", title="a:b,c%\n")
        assert out.getvalue() == "::error title=a%3Ab%2Cc%25%0A::msg\n"

    def test_empty_properties_are_dropped(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """An annotation without a title has no property list at all."""
        runner, out = make(tokens)
        runner.error("plain")
        runner.error("also plain", title="")
        assert out.getvalue() == "::error::plain\n::error::also plain\n"

    def test_mask(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """mask registers the value with ::add-mask::; an empty value registers nothing."""
        runner, out = make(tokens)
        runner.mask("eyJ0eXAi.token")
        runner.mask("")
        assert out.getvalue() == "::add-mask::eyJ0eXAi.token\n"

    def test_phase_is_a_group_closed_even_on_error(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """A phase prints ::group:: and ::endgroup::, also when the body raises; inner phases are plain lines."""
        runner, out = make(tokens)

        def body() -> None:
            with runner.phase("Resolving names"):
                with runner.phase("Inner"):
                    runner.info("found 3 stages")
                raise KeyError("x")

        with pytest.raises(KeyError):
            body()
        assert out.getvalue() == "::group::Resolving names\nInner\nfound 3 stages\n::endgroup::\n"

    def test_plain_info_is_written_as_is(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """Ordinary text, including a :: in mid-line, is written unchanged and uses no token."""
        runner, out = make(tokens)
        runner.info("Deploying 'a::b' from Development to Test\nsecond line")
        assert out.getvalue() == "Deploying 'a::b' from Development to Test\nsecond line\n"

    def test_remote_text_that_looks_like_a_command_is_neutralised(
        self, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """Text with a line starting with :: (after whitespace) is wrapped in stop-commands with a fresh token."""
        runner, out = make(tokens)
        runner.info("Item note:\n  ::add-mask::x")
        runner.info("::error::fake")
        assert out.getvalue() == (
            "::stop-commands::t1\nItem note:\n  ::add-mask::x\n::t1::\n::stop-commands::t2\n::error::fake\n::t2::\n"
        )

    def test_legacy_command_syntax_is_neutralised(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """The legacy ##[command] form, which the runner finds anywhere in a line, is wrapped too."""
        runner, out = make(tokens)
        runner.info("see ##[add-mask]x")
        assert out.getvalue() == "::stop-commands::t1\nsee ##[add-mask]x\n::t1::\n"


class TestProgress:
    def test_prints_on_change_or_every_30_seconds(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """A progress line is printed when status or steps change, otherwise at most every 30 s."""
        runner, out = make(tokens)
        for elapsed, status, done in [
            (0, "NotStarted", 0),
            (2, "Running", 0),
            (5, "Running", 0),
            (12, "Running", 3),
            (30, "Running", 3),
            (42, "Running", 3),
            (50, "Running", 3),
            (75, "Running", 3),
            (76, "Succeeded", 6),
        ]:
            runner.progress(Progress(elapsed_seconds=elapsed, status=status, steps_done=done, steps_total=6))
        assert out.getvalue() == (
            "NotStarted: 0/6 steps done, 00:00 elapsed\n"
            "Running: 0/6 steps done, 00:02 elapsed\n"
            "Running: 3/6 steps done, 00:12 elapsed\n"
            "Running: 3/6 steps done, 00:42 elapsed\n"
            "Running: 3/6 steps done, 01:15 elapsed\n"
            "Succeeded: 6/6 steps done, 01:16 elapsed\n"
        )


def interim(operation_id: str | None) -> DeployManyResult:
    """deploy-many mid-run: one entry accepted (Running) or not started yet."""
    status = "Running" if operation_id else "NotStarted"
    return DeployManyResult(
        command="deploy-many",
        entries=(EntryOutcome(name="a", status=status, pipeline_id=PIPELINE_ID, operation_id=operation_id),),
    )


def interim_json(operation_id: str | None) -> str:
    status, op = ("Running", f'"{operation_id}"') if operation_id else ("NotStarted", "null")
    return (
        f'{{"a":{{"pipeline-id":"{PIPELINE_ID}","operation-id":{op},"status":"{status}",'
        '"duration-seconds":null,"deployed-items":[]}}'
    )


class TestOutputs:
    def test_interim_outputs_are_appended_and_the_last_wins(
        self, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """interim writes the outputs at once, each change appended (GitHub reads the last), no summary, no notice."""
        runner, out = make(tokens)
        runner.interim(interim(None))
        runner.interim(interim(OPERATION_ID))
        assert github_step.output.read_text() == heredoc("results", interim_json(None), "t1") + heredoc(
            "results", interim_json(OPERATION_ID), "t2"
        )
        assert github_step.summary.read_text() == ""
        assert out.getvalue() == ""

    def test_operation_id_is_written_at_once(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """deployment_accepted writes the operation-id output through the heredoc file command immediately."""
        runner, out = make(tokens)
        runner.deployment_accepted(OPERATION_ID)
        assert github_step.output.read_text() == heredoc("operation-id", OPERATION_ID, "t1")
        assert out.getvalue() == ""

    def test_publish_writes_every_output_once(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """publish writes each output with a fresh delimiter, skipping the operation id already written."""
        runner, _ = make(tokens)
        runner.deployment_accepted(OPERATION_ID)
        runner.publish(deployment())
        assert github_step.output.read_text() == (
            heredoc("operation-id", OPERATION_ID, "t1")
            + heredoc("status", "Succeeded", "t2")
            + heredoc("pipeline-id", PIPELINE_ID, "t3")
            + heredoc("source-stage-id", "11111111-1111-1111-1111-111111111111", "t4")
            + heredoc("target-stage-id", TEST.id, "t5")
            + heredoc("deployed-items", ITEMS_JSON, "t6")
            + heredoc("duration-seconds", "9", "t7")
        )

    def test_multiline_value_keeps_its_lines(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """Values are written verbatim between the delimiters, newlines included."""
        result = AddUserResult(
            principal="u", principal_type="User",
            pipeline=Grant(kind="pipeline", id="p\nq", name="P", role="Admin"),
        )  # fmt: skip
        runner, _ = make(tokens)
        runner.publish(result)
        assert github_step.output.read_text() == (
            heredoc("pipeline-id", "p\nq", "t1")
            + heredoc("principal", "u", "t2")
            + heredoc("role", "Admin", "t3")
            + heredoc("workspace-id", "", "t4")
            + heredoc("workspace-role", "", "t5")
            + heredoc("changed", "true", "t6")
        )

    def test_value_containing_the_delimiter_is_refused(self, github_step: GitHubStep) -> None:
        """A value that contains the delimiter could forge outputs, so it is refused."""
        runner = GitHubRunner({}, stdout=io.StringIO(), token_factory=lambda: "x")
        with pytest.raises(ValueError, match="delimiter"):
            runner.deployment_accepted("ghadelimiter_x")
        assert github_step.output.read_text() == ""

    def test_publish_appends_summary_and_a_notice(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """publish appends the Markdown summary to GITHUB_STEP_SUMMARY and prints one notice line."""
        github_step.summary.write_text("earlier step\n", encoding="utf-8")
        runner, out = make(tokens)
        runner.publish(deployment())
        assert github_step.summary.read_text(encoding="utf-8") == "earlier step\n" + render_summary(deployment())
        assert out.getvalue() == "::notice::Deployed 2 items from Development to Test in 9s\n"

    def test_no_summary_file_is_fine(
        self, github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without GITHUB_STEP_SUMMARY (older runners) the summary is skipped, outputs are still written."""
        monkeypatch.delenv("GITHUB_STEP_SUMMARY")
        runner, _ = make(tokens)
        runner.publish(deployment())
        assert "status<<ghadelimiter_t2\nSucceeded\n" in github_step.output.read_text()

    def test_never_falls_back_to_set_output(
        self, github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without GITHUB_OUTPUT publishing raises a clear error instead of printing ::set-output."""
        monkeypatch.delenv("GITHUB_OUTPUT")
        runner, out = make(tokens)
        with pytest.raises(RunnerEnvironmentError):
            runner.publish(deployment())
        assert "set-output" not in out.getvalue()


class TestFail:
    def test_one_annotation_per_invalid_input(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """Each invalid input gets its own ::error titled with the input's name; the summary lists them."""
        runner, out = make(tokens)
        error = InputErrors(
            [InputError("tenant-id", "required and not supplied"), InputError("wait", "expected true or false")]
        )
        runner.fail(error)
        assert out.getvalue() == (
            "::error title=Invalid input 'tenant-id'::Input 'tenant-id': required and not supplied\n"
            "::error title=Invalid input 'wait'::Input 'wait': expected true or false\n"
        )
        assert github_step.output.read_text() == ""
        assert "- Input 'wait': expected true or false\n" in github_step.summary.read_text(encoding="utf-8")

    def test_single_input_error(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """A lone InputError gets one annotation, candidates included."""
        runner, out = make(tokens)
        runner.fail(InputError("pipeline", "no pipeline named 'Sale'.", candidates=["Sales"]))
        assert out.getvalue() == (
            "::error title=Invalid input 'pipeline'::"
            "Input 'pipeline': no pipeline named 'Sale'. Did you mean: 'Sales'?\n"
        )

    def test_failed_deployment_annotates_each_failed_item(
        self, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """A failed deployment gets one error for the deployment and one per failed item, and its outputs."""
        result = deployment(status="Failed", items=(REPORT, BROKEN))
        runner, out = make(tokens)
        runner.fail(DeploymentFailed("1 of 2 items failed.", result), result)
        assert out.getvalue() == (
            "::error title=Deployment failed::1 of 2 items failed.\n"
            "::error title=Item failed%3A Finance%2C EU%3A model::"
            "Refresh failed: column <Amount>%0Ais missing | see log\n"
        )
        assert heredoc("status", "Failed", "t2") in github_step.output.read_text()
        assert github_step.summary.read_text(encoding="utf-8").startswith("### ❌ Deployment failed\n")

    def test_partial_result_is_taken_from_the_error(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """A timeout without an explicit result still writes the outputs and summary of the error's result."""
        result = deployment(status="Running", items=())
        runner, out = make(tokens)
        runner.deployment_accepted(OPERATION_ID)
        runner.fail(WaitTimeout("Still running after 30m; it was left running.", result))
        assert out.getvalue() == (
            "::error title=Timed out waiting for the deployment::Still running after 30m; it was left running.\n"
        )
        assert github_step.output.read_text().count("operation-id<<") == 1
        assert heredoc("status", "Running", "t2") in github_step.output.read_text()
        assert github_step.summary.read_text(encoding="utf-8").startswith("### ⏳ Still running after timeout\n")

    def test_other_errors_use_their_title(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """Any other error is one annotation titled with the error's title."""
        error = ApiError(ErrorDetails(403, "InsufficientPrivileges", "Not an admin", request_id="r-1"))
        runner, out = make(tokens)
        runner.fail(error)
        assert out.getvalue() == (
            "::error title=API request failed::403 InsufficientPrivileges: Not an admin (requestId r-1)\n"
        )

    def test_missing_output_file_while_failing_is_reported(
        self, github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If outputs cannot be written while failing, that is annotated too and the summary still written."""
        monkeypatch.delenv("GITHUB_OUTPUT")
        result = deployment(status="Failed", items=())
        runner, out = make(tokens)
        runner.fail(DeploymentFailed("failed", result))
        lines = out.getvalue().splitlines()
        assert lines[0] == "::error title=Deployment failed::failed"
        assert lines[1].startswith("::error title=Incomplete GitHub Actions environment::GITHUB_OUTPUT is not set")
        assert github_step.summary.read_text(encoding="utf-8").startswith("### ❌ Deployment failed\n")


def test_secret_never_appears_outside_its_mask(
    github_step: GitHubStep, tokens: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The secret is masked first, escaped as the runner requires, and nothing the runner writes afterwards
    repeats it (the whole-process check is tests/e2e/test_deploy.py::test_secret_and_token_are_masked...)."""
    monkeypatch.setenv("INPUT_CLIENT-SECRET", SECRET)
    monkeypatch.setenv("INPUT_PIPELINE", "Sales analytics")
    runner, out = make(tokens)
    runner.read_inputs(input_names(COMMANDS["deploy-all"].inputs))
    with runner.phase("Deploying"):
        runner.info("Deploying")
        runner.deployment_accepted(OPERATION_ID)
    result = deployment(status="Failed", items=(BROKEN,))
    runner.fail(DeploymentFailed("failed", result), result)
    lines = out.getvalue().splitlines()
    assert lines[0] == "::add-mask::s3cr%25t~value"
    escaped = "s3cr%25t~value"
    for text in ["\n".join(lines[1:]), github_step.output.read_text(), github_step.summary.read_text("utf-8")]:
        assert SECRET not in text
        assert escaped not in text
