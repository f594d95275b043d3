"""The terminal runner: readable text for people, one JSON document for scripts, secrets never shown."""

from __future__ import annotations

import io
import json

from fabric_ci.cli import build_parser, cli_values
from fabric_ci.errors import ApiError, DeploymentFailed, ErrorDetails, FabricCiError, InputError, InputErrors
from fabric_ci.models.results import AssignWorkspaceResult, Progress
from fabric_ci.runners.local import LocalRunner, json_outputs, secret_env_var

from .builders import BROKEN, OPERATION_ID, PIPELINE_ID, REPORT, TEST, deployment

SECRET = "s3cr3t-Value~"

REPORT_TEXT = (
    "Deployed 2 items from Development to Test in 9s\n"
    "\n"
    "  Pipeline:   Sales analytics\n"
    "  Stages:     Development → Test\n"
    "  Status:     Succeeded\n"
    f"  Operation:  {OPERATION_ID}\n"
    "  Duration:   9s\n"
    "\n"
    "  Item          Type           Change     Result\n"
    "  Sales report  Report         New        Succeeded\n"
    "  Sales model   SemanticModel  Different  Succeeded\n"
)


def make(
    cli: dict[str, str] | None = None, *, json_mode: bool = False, tty: bool = False, env: dict[str, str] | None = None
) -> tuple[LocalRunner, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    runner = LocalRunner(
        cli or {},
        output_format="json" if json_mode else "text",
        stdout=out,
        stderr=err,
        is_tty=tty,
        env=env or {},
    )
    return runner, out, err


class TestReadInputs:
    def test_cli_values_trimmed_and_empty_dropped(self) -> None:
        """Inputs are the CLI values, trimmed, without empty ones."""
        runner, out, err = make({"pipeline": " Sales ", "note": " "})
        assert runner.read_inputs(["pipeline", "note", "wait"]) == {"pipeline": "Sales"}
        assert out.getvalue() == err.getvalue() == ""

    def test_line_inputs_repeat_on_the_command_line(self) -> None:
        """`--stages A --stages B` is the two-line input `stages`, as items are; a single option stays as given."""
        argv = ["create-pipeline", "--pipeline", "P", "--stages", "Dev", "--stages", "Prod", "--workspaces", "Dev: w"]
        names = ["pipeline", "stages", "workspaces", "public-stages"]
        assert cli_values(build_parser().parse_args(argv), names) == {
            "pipeline": "P",
            "stages": "Dev\nProd",
            "workspaces": "Dev: w",
        }

    def test_secret_from_environment(self) -> None:
        """The client secret may come from FABRIC_CI_CLIENT_SECRET instead of the command line."""
        assert secret_env_var("client-secret") == "FABRIC_CI_CLIENT_SECRET"
        runner, _, _ = make(env={"FABRIC_CI_CLIENT_SECRET": SECRET, "FABRIC_CI_PIPELINE": "ignored"})
        assert runner.read_inputs(["client-secret", "pipeline"]) == {"client-secret": SECRET}

    def test_cli_secret_wins_over_environment(self) -> None:
        """A secret given on the command line is used instead of the environment variable."""
        runner, _, _ = make({"client-secret": "from-cli"}, env={"FABRIC_CI_CLIENT_SECRET": SECRET})
        assert runner.read_inputs(["client-secret"]) == {"client-secret": "from-cli"}


class TestText:
    def test_log_lines_are_plain(self) -> None:
        """Phases, info and notices go to stdout as plain lines; warnings to stderr; no :: commands."""
        runner, out, err = make()
        with runner.phase("Resolving names"):
            runner.info("Found 3 stages")
            runner.notice("Workspace already assigned")
        runner.warning("Slow")
        runner.debug("not shown")
        assert out.getvalue() == "==> Resolving names\nFound 3 stages\nWorkspace already assigned\n"
        assert err.getvalue() == "warning: Slow\n"

    def test_debug_when_asked(self) -> None:
        """Debug lines appear on stderr when FABRIC_CI_DEBUG or RUNNER_DEBUG is set."""
        runner, _, err = make(env={"RUNNER_DEBUG": "1"})
        runner.debug("GET /deploymentPipelines")
        assert err.getvalue() == "debug: GET /deploymentPipelines\n"

    def test_remote_control_characters_are_defused(self) -> None:
        """Escape sequences in remote text cannot drive the terminal."""
        runner, out, _ = make()
        runner.info("name \x1b[2Jcleared\tand tabbed")
        assert out.getvalue() == "name ?[2Jcleared and tabbed\n"

    def test_publish_report(self) -> None:
        """publish prints the headline, the facts and an aligned item table."""
        runner, out, err = make()
        runner.publish(deployment())
        assert out.getvalue() == REPORT_TEXT
        assert err.getvalue() == ""

    def test_publish_assign_workspace(self) -> None:
        """Other results get a headline and their facts."""
        result = AssignWorkspaceResult(
            pipeline_id=PIPELINE_ID, pipeline_name="Sales analytics", stage=TEST, workspace_id="w-2"
        )
        runner, out, _ = make()
        runner.publish(result)
        assert out.getvalue() == (
            "Assigned workspace w-2 to stage Test of Sales analytics\n"
            "\n"
            "  Pipeline:   Sales analytics\n"
            "  Stage:      Test\n"
            "  Workspace:  w-2\n"
        )

    def test_fail_one_line_per_input_error(self) -> None:
        """Each invalid input is one `error:` line on stderr, and stdout stays empty."""
        runner, out, err = make()
        runner.fail(InputErrors([InputError("tenant-id", "required and not supplied"), InputError("wait", "bad")]))
        assert err.getvalue() == ("error: Input 'tenant-id': required and not supplied\nerror: Input 'wait': bad\n")
        assert out.getvalue() == ""

    def test_fail_deployment_lists_failed_items_and_the_report(self) -> None:
        """A failed deployment names each failed item on stderr and prints the partial report."""
        result = deployment(status="Failed", items=(REPORT, BROKEN))
        runner, out, err = make()
        runner.fail(DeploymentFailed("1 of 2 items failed.", result))
        assert err.getvalue() == (
            "error: 1 of 2 items failed.\n"
            "error: item Finance, EU: model (SemanticModel) failed: "
            "Refresh failed: column <Amount> is missing | see log\n"
        )
        assert out.getvalue() == (
            "\n"
            f"Deployment from Development to Test failed: 1 item failed (operation {OPERATION_ID})\n"
            "\n"
            "  Pipeline:   Sales analytics\n"
            "  Stages:     Development → Test\n"
            "  Status:     Failed\n"
            f"  Operation:  {OPERATION_ID}\n"
            "  Duration:   9s\n"
            "\n"
            "  Item                Type           Change     Result\n"
            "  Finance, EU: model  SemanticModel  Different  Failed\n"
            "  Sales report        Report         New        Succeeded\n"
            "\n"
            "  Finance, EU: model: Refresh failed: column <Amount> is missing | see log\n"
        )


class TestProgress:
    def test_tty_rewrites_one_line(self) -> None:
        """On a terminal progress rewrites one line in place, ended by a newline before the next output."""
        runner, out, _ = make(tty=True, env={"NO_COLOR": "1"})
        runner.progress(Progress(elapsed_seconds=2, status="Running", steps_done=0, steps_total=6))
        runner.progress(Progress(elapsed_seconds=12, status="Running", steps_done=3, steps_total=6))
        runner.info("done")
        assert out.getvalue() == ("\r\x1b[2K⠋ Running  0/6 steps  00:02\r\x1b[2K⠙ Running  3/6 steps  00:12\ndone\n")

    def test_tty_colours_unless_no_color(self) -> None:
        """On a terminal the spinner and `error:` are coloured; NO_COLOR (any value) turns colour off."""
        runner, out, err = make(tty=True)
        runner.progress(Progress(elapsed_seconds=2, status="Running", steps_done=0, steps_total=6))
        runner.fail(FabricCiError("boom"))
        assert out.getvalue() == "\r\x1b[2K\x1b[36m⠋\x1b[0m Running  0/6 steps  00:02\n"
        assert err.getvalue() == "\x1b[31merror:\x1b[0m boom\n"
        runner, out, err = make(tty=True, env={"NO_COLOR": "1"})
        runner.fail(FabricCiError("boom"))
        assert err.getvalue() == "error: boom\n"

    def test_json_mode_has_no_live_line_or_colour_even_on_a_terminal(self) -> None:
        """--output json on a terminal prints progress as plain lines on stderr, no escapes anywhere."""
        runner, out, err = make(json_mode=True, tty=True)
        runner.progress(Progress(elapsed_seconds=2, status="Running", steps_done=0, steps_total=6))
        runner.fail(FabricCiError("boom"))
        assert "\x1b" not in out.getvalue() + err.getvalue()
        assert err.getvalue() == "Running: 0/6 steps done, 00:02 elapsed\nerror: boom\n"

    def test_not_a_tty_prints_a_line_per_change(self) -> None:
        """Without a terminal a progress line is printed only when status or steps change."""
        runner, out, _ = make()
        for elapsed, status, done in [(0, "NotStarted", 0), (3, "Running", 0), (9, "Running", 0), (12, "Running", 3)]:
            runner.progress(Progress(elapsed_seconds=elapsed, status=status, steps_done=done, steps_total=6))
        assert out.getvalue() == (
            "NotStarted: 0/6 steps done, 00:00 elapsed\n"
            "Running: 0/6 steps done, 00:03 elapsed\n"
            "Running: 3/6 steps done, 00:12 elapsed\n"
        )


class TestLongText:
    def test_a_5000_character_error_is_cut_in_text_and_whole_in_json(self) -> None:
        """A service's 5,000-character error shows its start and how much is left; the JSON document has it all."""
        runner, out, err = make()
        runner.fail(FabricCiError("x" * 5000))
        assert len(err.getvalue()) < 650
        assert "4,500 more characters" in err.getvalue()
        runner, out, err = make(json_mode=True)
        runner.fail(FabricCiError("x" * 5000))
        assert json.loads(out.getvalue())["error"]["message"] == "x" * 5000
        assert len(err.getvalue()) < 650


class TestJson:
    def test_publish_prints_one_document_on_stdout(self) -> None:
        """In JSON mode stdout holds exactly one document with outputs and the result; people read stderr."""
        runner, out, err = make(json_mode=True)
        runner.info("Deploying")
        runner.progress(Progress(elapsed_seconds=1, status="Running", steps_done=0, steps_total=2))
        runner.publish(deployment())
        document = json.loads(out.getvalue())
        assert out.getvalue().count("\n") == 1
        assert document["ok"] is True
        assert document["command"] == "deploy-all"
        assert document["outputs"]["deployed-items"] == [
            {"id": "r-1", "name": "Sales report", "type": "Report", "diffState": "New", "status": "Succeeded"},
            {
                "id": "m-1",
                "name": "Sales model",
                "type": "SemanticModel",
                "diffState": "Different",
                "status": "Succeeded",
            },
        ]
        assert document["outputs"]["duration-seconds"] == 9
        assert document["outputs"]["status"] == "Succeeded"
        assert document["result"]["pipelineId"] == deployment().pipeline_id
        assert document["result"]["items"][0]["diffState"] == "New"
        assert "diff_state" not in out.getvalue()
        assert err.getvalue() == "Deploying\nRunning: 0/2 steps done, 00:01 elapsed\n" + REPORT_TEXT

    def test_json_outputs_are_values(self) -> None:
        """Counts are numbers (null when unknown), `changed` a boolean, JSON outputs arrays and objects."""
        typed = json_outputs(
            {"create": "3", "duration-seconds": "", "changed": "false", "stage-ids": '{"my_stage": "s-1"}', "name": "7"}
        )
        assert typed == {
            "create": 3,
            "duration-seconds": None,
            "changed": False,
            "stage-ids": {"my_stage": "s-1"},
            "name": "7",
        }

    def test_fail_document_names_inputs(self) -> None:
        """A failure document carries the error's title, message and each invalid input."""
        runner, out, err = make(json_mode=True)
        runner.fail(InputErrors([InputError("wait", "expected true or false")]))
        assert json.loads(out.getvalue()) == {
            "ok": False,
            "command": None,
            "error": {
                "title": "Invalid input",
                "message": "Input 'wait': expected true or false",
                "inputs": [{"name": "wait", "message": "Input 'wait': expected true or false"}],
            },
            "outputs": {},
            "result": None,
        }
        assert err.getvalue() == "error: Input 'wait': expected true or false\n"

    def test_command_given_to_the_runner_names_a_failure(self) -> None:
        """A failure before any result still names the command when the CLI told the runner."""
        out = io.StringIO()
        runner = LocalRunner({}, output_format="json", stdout=out, stderr=io.StringIO(), command="add-user", env={})
        runner.fail(InputError("role", "expected Admin"))
        assert json.loads(out.getvalue())["command"] == "add-user"

    def test_fail_after_acceptance_keeps_the_operation_id(self) -> None:
        """When a failure has no result but a deployment was accepted, the document still has its id."""
        runner, out, _ = make(json_mode=True)
        runner.deployment_accepted(OPERATION_ID)
        runner.fail(ApiError(ErrorDetails(500, "InternalError", "try later")))
        document = json.loads(out.getvalue())
        assert document["outputs"] == {"operation-id": OPERATION_ID}
        assert document["error"] == {
            "title": "API request failed",
            "message": "500 InternalError: try later",
            "inputs": [],
        }

    def test_fail_with_partial_result(self) -> None:
        """A failed deployment's document carries its outputs and result."""
        result = deployment(status="Failed", items=(BROKEN,))
        runner, out, _ = make(json_mode=True)
        runner.fail(DeploymentFailed("failed", result), result)
        document = json.loads(out.getvalue())
        assert document["command"] == "deploy-all"
        assert document["outputs"]["status"] == "Failed"
        assert document["result"]["items"][0]["error"] == BROKEN.error


def test_secret_never_appears_in_any_output() -> None:
    """A secret read from the environment, or masked later, is replaced by *** in every stream."""
    for json_mode in (False, True):
        runner, out, err = make(json_mode=json_mode, tty=True, env={"FABRIC_CI_CLIENT_SECRET": SECRET})
        runner.read_inputs(["client-secret"])
        runner.mask("eyJtoken")
        runner.info(f"echo {SECRET} and eyJtoken")
        runner.warning(SECRET)
        runner.fail(ApiError(ErrorDetails(401, "Unauthorized", f"bad secret {SECRET}")))
        for text in (out.getvalue(), err.getvalue()):
            assert SECRET not in text
            assert "eyJtoken" not in text
        assert "echo *** and ***" in (err if json_mode else out).getvalue()
