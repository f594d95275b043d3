"""fabric-ci at a terminal: defaults from FABRIC_CI_<INPUT> and a profile, boolean switches, and the
JSON document, each through the real entrypoint as a process against the emulator."""

from __future__ import annotations

import json
import os
import pty
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fabric_ci.commands import COMMANDS
from fabric_ci.emulator import Emulator
from fabric_ci.emulator.cli import banner
from fabric_ci.emulator.seed import CLIENT_SECRET
from fabric_ci.runners.defaults import defaultable, local_values

from .conftest import step_env

DEPLOY = {"pipeline": "Sales Analytics", "source-stage": "Development", "target-stage": "Test"}


@dataclass
class Cli:
    returncode: int
    stdout: str
    stderr: str

    @property
    def document(self) -> dict[str, object]:
        return dict(json.loads(self.stdout))


def run_cli(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> Cli:
    """`fabric-ci ARGS` in `tmp_path`, with a HOME of its own and no CI or FABRIC_CI_ variables but `env`."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "INPUT_", "FABRIC_CI_", "RUNNER_", "XDG_")) and k not in {"TF_BUILD", "CI"}
    }
    proc = subprocess.run(
        [sys.executable, "-m", "fabric_ci", *args],
        env={**clean, "HOME": str(home), **(env or {})},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Cli(proc.returncode, proc.stdout, proc.stderr)


def write_profile(path: Path, name: str, values: dict[str, str], mode: int = 0o600) -> Path:
    lines = [f"[profiles.{name}]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(mode)
    return path


def user_profile(tmp_path: Path) -> Path:
    """The profile file of run_cli's user (its HOME is tmp_path/home): ~/.config/fabric-ci/fabric-ci.toml."""
    return tmp_path / "home" / ".config" / "fabric-ci" / "fabric-ci.toml"


def connection(emulator: Emulator) -> dict[str, str]:
    return {k: v for k, v in emulator.inputs().items() if k != "client-secret"}


def test_flag_wins_over_environment_which_wins_over_profile(emulator: Emulator, tmp_path: Path) -> None:
    """pipeline from --pipeline, else FABRIC_CI_PIPELINE, else the profile: each level named in turn."""
    write_profile(user_profile(tmp_path), "default", {**connection(emulator), "pipeline": "From Profile"})
    env = {"FABRIC_CI_CLIENT_SECRET": CLIENT_SECRET, "FABRIC_CI_PIPELINE": "From Environment"}
    stages = ["--source-stage=Development", "--target-stage=Test", "--plan", "--output=json"]

    flag = run_cli(tmp_path, ["deploy-all", "--pipeline=Sales Analytics", *stages], env)
    assert flag.returncode == 0, flag.stderr
    assert flag.document["outputs"]["status"] == "Planned"  # type: ignore[index]

    from_env = run_cli(tmp_path, ["deploy-all", *stages], env)
    assert from_env.returncode == 2, from_env.stderr
    assert "From Environment" in from_env.stderr
    assert "From Profile" not in from_env.stderr

    del env["FABRIC_CI_PIPELINE"]
    from_profile = run_cli(tmp_path, ["deploy-all", *stages], env)
    assert from_profile.returncode == 2, from_profile.stderr
    assert "From Profile" in from_profile.stderr
    assert emulator.deployments == [], "a plan sends no deployment"


def test_named_profile_in_the_user_config_dir(emulator: Emulator, tmp_path: Path) -> None:
    """--profile NAME reads $XDG_CONFIG_HOME/fabric-ci/fabric-ci.toml."""
    config = tmp_path / "config"
    write_profile(
        config / "fabric-ci" / "fabric-ci.toml", "emu", {**connection(emulator), "client-secret": CLIENT_SECRET}
    )
    args = ["deploy-all", *[f"--{k}={v}" for k, v in DEPLOY.items()], "--profile", "emu", "--plan", "--output=json"]
    run = run_cli(tmp_path, args, {"XDG_CONFIG_HOME": str(config)})
    assert run.returncode == 0, run.stderr
    assert run.document["outputs"]["status"] == "Planned"  # type: ignore[index]
    assert CLIENT_SECRET not in run.stdout + run.stderr


def test_secret_in_a_profile_others_can_read_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    """A profile holding client-secret with mode 644 is refused before any request, naming the file and chmod 600."""
    path = write_profile(
        user_profile(tmp_path), "default", {**connection(emulator), "client-secret": CLIENT_SECRET}, mode=0o644
    )
    run = run_cli(tmp_path, ["deploy-all", *[f"--{k}={v}" for k, v in DEPLOY.items()]])
    assert run.returncode == 2
    assert str(path) in run.stderr
    assert f"chmod 600 {path}" in run.stderr
    assert "client-secret" in run.stderr
    assert CLIENT_SECRET not in run.stdout + run.stderr
    assert emulator.requests == []


def test_unknown_key_in_a_profile_is_named_with_the_file(emulator: Emulator, tmp_path: Path) -> None:
    """A key that is no shared input (here a typo) is an input error naming the key and the file."""
    path = write_profile(user_profile(tmp_path), "default", {**connection(emulator), "tenant": "x"})
    run = run_cli(tmp_path, ["deploy-all", *[f"--{k}={v}" for k, v in DEPLOY.items()]])
    assert run.returncode == 2
    assert "'tenant'" in run.stderr
    assert str(path) in run.stderr
    assert emulator.requests == []


def test_a_profile_in_the_working_directory_is_never_read(emulator: Emulator, tmp_path: Path) -> None:
    """A fabric-ci.toml in the working directory (a cloned repository's) could point authority-host and
    api-base-url at a host of its choosing, which would receive the secret and the token the environment
    supplies: it is never read, neither as `default` nor when asked for by name."""
    hostile = {"authority-host": "https://127.0.0.1:9", "api-base-url": "https://127.0.0.1:9", "pipeline": "Other"}
    table = "".join(f"{key} = {json.dumps(value)}\n" for key, value in hostile.items())
    (tmp_path / "fabric-ci.toml").write_text(f"[profiles.default]\n{table}[profiles.emulator]\n{table}")
    # The user's own profile, in the config directory, says how to reach the service.
    write_profile(user_profile(tmp_path), "default", {**connection(emulator), "pipeline": DEPLOY["pipeline"]})
    env = {"FABRIC_CI_CLIENT_SECRET": CLIENT_SECRET}
    run = run_cli(tmp_path, ["deploy-all", "--source-stage=Development", "--plan", "--output=json"], env)
    assert run.returncode == 0, run.stderr
    assert run.document["outputs"]["status"] == "Planned"  # type: ignore[index]
    asked = run_cli(tmp_path, ["deploy-all", "--profile=emulator", "--pipeline=x", "--source-stage=Development"], env)
    assert asked.returncode == 2
    assert f"no [profiles.emulator] in {user_profile(tmp_path)}" in asked.stderr


def test_confirmations_and_delete_pipeline_target_come_from_the_command_line_only(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Neither a profile's pipeline nor FABRIC_CI_PIPELINE aims a bare delete-pipeline, and FABRIC_CI_FORCE left
    exported confirms nothing."""
    write_profile(
        user_profile(tmp_path),
        "default",
        {**connection(emulator), "client-secret": CLIENT_SECRET, "pipeline": DEPLOY["pipeline"]},
    )
    deleted = run_cli(tmp_path, ["delete-pipeline"], {"FABRIC_CI_PIPELINE": DEPLOY["pipeline"]})
    assert deleted.returncode == 2, deleted.stderr
    assert "Input 'pipeline': required and not supplied" in deleted.stderr
    assert emulator.requests == []
    names = COMMANDS["remove-user"].input_names
    environ = {"FABRIC_CI_FORCE": "true", "HOME": str(tmp_path / "nobody")}
    assert "force" not in local_values({}, defaultable("remove-user", names), environ, None)
    assert local_values({}, names, environ, None)["force"] == "true", "the filter is what keeps it out"


def test_asked_for_profile_that_does_not_exist(tmp_path: Path) -> None:
    """FABRIC_CI_PROFILE naming a profile with no file anywhere is an input error, exit 2."""
    run = run_cli(tmp_path, ["deploy-all", "--pipeline=x"], {"FABRIC_CI_PROFILE": "work"})
    assert run.returncode == 2
    assert "Input 'profile'" in run.stderr
    assert "fabric-ci.toml" in run.stderr


def test_ci_runner_ignores_environment_defaults(emulator: Emulator, tmp_path: Path) -> None:
    """In GitHub Actions FABRIC_CI_PIPELINE and a profile are no inputs: the workflow's inputs are the whole truth."""
    write_profile(tmp_path / "config" / "fabric-ci" / "fabric-ci.toml", "default", {"pipeline": "Sales Analytics"})
    env = step_env(
        emulator.inputs(),
        tmp_path,
        {"FABRIC_CI_PIPELINE": "Sales Analytics", "XDG_CONFIG_HOME": str(tmp_path / "config")},
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fabric_ci", "deploy-all"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Input 'pipeline': required and not supplied" in proc.stdout, proc.stdout
    assert emulator.requests == []


@pytest.mark.parametrize("ci", [{"GITHUB_ACTIONS": "true"}, {"TF_BUILD": "True"}])
def test_profile_in_a_ci_job_is_refused_not_ignored(emulator: Emulator, tmp_path: Path, ci: dict[str, str]) -> None:
    """--profile in a CI job would be read by no runner: the run stops before any request, naming it."""
    write_profile(user_profile(tmp_path), "emulator", emulator.inputs())
    cli = run_cli(tmp_path, ["list-pipelines", "--profile", "emulator"], {**ci, "AGENT_TEMPDIRECTORY": str(tmp_path)})
    assert cli.returncode == 2, cli.stdout + cli.stderr
    assert "profile" in cli.stdout
    assert "is read only at a terminal" in cli.stdout
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("switch", "status"),
    [
        (["--plan"], "Planned"),
        (["--plan=true"], "Planned"),
        (["--plan", "true"], "Planned"),
        (["--no-wait"], "NotStarted|Running"),
        (["--wait=false"], "NotStarted|Running"),
        (["--wait", "false"], "NotStarted|Running"),
    ],
)
def test_boolean_forms(emulator: Emulator, tmp_path: Path, switch: list[str], status: str) -> None:
    """--x, --x=true, --x true, --no-x, --x=false and --x false all set a boolean input."""
    args = [f"--{k}={v}" for k, v in {**connection(emulator), **DEPLOY}.items()]
    run = run_cli(tmp_path, ["deploy-all", *args, *switch, "--output=json"], {"FABRIC_CI_CLIENT_SECRET": CLIENT_SECRET})
    assert run.returncode == 0, run.stderr
    assert run.document["outputs"]["status"] in status.split("|")  # type: ignore[index]
    assert len(emulator.deployments) == (0 if status == "Planned" else 1)


def test_boolean_with_a_bad_value_names_the_input(tmp_path: Path) -> None:
    """`--wait maybe` is an input error naming wait, before any request."""
    run = run_cli(tmp_path, ["deploy-all", "--pipeline=x", "--wait", "maybe"])
    assert run.returncode == 2
    assert "Input 'wait'" in run.stderr
    assert "true or false" in run.stderr


def test_json_document_holds_values(emulator: Emulator, tmp_path: Path) -> None:
    """deployed-items is an array, counts are numbers, and items spell diffState one way."""
    args = [f"--{k}={v}" for k, v in {**connection(emulator), **DEPLOY}.items()]
    run = run_cli(tmp_path, ["deploy-all", *args, "--output=json"], {"FABRIC_CI_CLIENT_SECRET": CLIENT_SECRET})
    assert run.returncode == 0, run.stderr
    outputs = run.document["outputs"]
    assert isinstance(outputs, dict)
    assert isinstance(outputs["deployed-items"], list)
    assert len(outputs["deployed-items"]) == 10
    assert {"id", "name", "type", "diffState", "status"} == set(outputs["deployed-items"][0])
    assert isinstance(outputs["duration-seconds"], int)
    assert "diff_state" not in run.stdout
    result = run.document["result"]
    assert isinstance(result, dict)
    assert result["pipelineId"] == outputs["pipeline-id"]


def test_the_emulator_banner_profile_works_as_printed(emulator: Emulator, tmp_path: Path) -> None:
    """The profile `fabric-ci emulator` prints, saved as it says (chmod 600), runs the short form it shows."""
    text = banner(emulator)
    start = text.index("  [profiles.emulator]")
    block = text[start : text.index("and run:", start)]
    path = user_profile(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(block)
    path.chmod(0o600)
    command = text[text.index("and run: fabric-ci ", start) + len("and run: fabric-ci ") :].splitlines()[0]
    run = run_cli(tmp_path, [*shlex.split(command), "--target-stage=Test", "--plan", "--output=json"])
    assert run.returncode == 0, run.stderr
    assert run.document["outputs"]["status"] == "Planned"  # type: ignore[index]


def run_on_a_terminal(tmp_path: Path, args: list[str], env: dict[str, str]) -> str:
    """`fabric-ci ARGS` with stdout and stderr on a pseudo-terminal; what the terminal received."""
    leader, follower = pty.openpty()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "FABRIC_CI_", "NO_COLOR"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabric_ci", *args],
        env={**clean, "TERM": "xterm", **env},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        received += chunk
    proc.wait(timeout=120)
    os.close(leader)
    return received.decode("utf-8", "replace")


@pytest.mark.parametrize(("no_color", "coloured"), [(None, True), ("1", False)])
def test_colour_on_a_terminal_unless_no_color(
    emulator: Emulator, tmp_path: Path, no_color: str | None, coloured: bool
) -> None:
    """On a terminal the progress spinner is coloured and rewritten in place; NO_COLOR removes the colour."""
    args = [f"--{k}={v}" for k, v in {**connection(emulator), **DEPLOY}.items()]
    env = {"FABRIC_CI_CLIENT_SECRET": CLIENT_SECRET, **({"NO_COLOR": no_color} if no_color else {})}
    shown = run_on_a_terminal(tmp_path, ["deploy-all", *args], env)
    assert "Deployed 10 items" in shown
    assert "\r\x1b[2K" in shown  # the live line
    assert ("\x1b[36m" in shown) is coloured


def test_no_escapes_when_not_a_terminal(emulator: Emulator, tmp_path: Path) -> None:
    """Piped output (a script, a log) holds no escape sequence at all: no colour, no rewritten line."""
    args = [f"--{k}={v}" for k, v in {**connection(emulator), **DEPLOY}.items()]
    run = run_cli(tmp_path, ["deploy-all", *args], {"FABRIC_CI_CLIENT_SECRET": CLIENT_SECRET})
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout + run.stderr
    assert "Deployed 10 items" in run.stdout


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["fabric-ci", "depl"], ["deploy-all", "deploy-many"]),
        (["fabric-ci", "wait-"], ["wait-for-deployment"]),
        (["fabric-ci", "deploy-all", "--no-w"], ["--no-wait"]),
        (["fabric-ci", "update-stage", "--pub"], ["--public"]),
    ],
)
def test_bash_completion_loads_and_completes(tmp_path: Path, words: list[str], expected: list[str]) -> None:
    """The script `fabric-ci completion bash` prints loads in bash and completes commands and their options."""
    script = run_cli(tmp_path, ["completion", "bash"])
    assert script.returncode == 0, script.stderr
    (tmp_path / "completion.bash").write_text(script.stdout)
    probe = (
        "source completion.bash\n"
        f"COMP_WORDS=({shlex.join(words)}); COMP_CWORD={len(words) - 1}\n"
        '_fabric_ci; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    bash = shutil.which("bash")
    assert bash is not None, "bash is part of the test machine (the Makefile's shell)"
    proc = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.split() == expected


def installed(shell: str) -> str:
    path = shutil.which(shell)
    assert path is not None, f"{shell} is installed by `make test` (its `shells` target)"
    return path


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["fabric-ci", "depl"], ["deploy-all", "deploy-many"]),
        (["fabric-ci", "deploy-all", "--no-w"], ["--no-wait"]),
        (["fabric-ci", "show-pipeline", "--it"], ["--items"]),
    ],
)
def test_zsh_completion_loads_and_offers_the_command_s_words(
    tmp_path: Path, words: list[str], expected: list[str]
) -> None:
    """The zsh script (bash's, through zsh's bashcompinit) loads in zsh and, called as zsh's completion
    calls it (compgen -F with words and CURRENT), offers the words of that place: the commands, or
    that command's options. zsh's compadd then keeps those starting with what is typed; so does this."""
    script = run_cli(tmp_path, ["completion", "zsh"])
    assert script.returncode == 0, script.stderr
    (tmp_path / "completion.zsh").write_text(script.stdout)
    probe = (
        "source ./completion.zsh\n"
        "probe() { local -a words COMP_WORDS; local CURRENT COMP_CWORD\n"
        f"  words=({shlex.join(words)}); CURRENT={len(words)}\n"
        '  COMP_WORDS=("${words[@]}"); COMP_CWORD=$((CURRENT - 1))\n'
        '  compgen -F _fabric_ci -- "${words[CURRENT]}"; }\n'
        "probe\n"
    )
    proc = subprocess.run(
        [installed("zsh"), "-f", "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    offered = proc.stdout.split()
    assert [w for w in offered if w.startswith(words[-1])] == expected
    if len(words) > 2:  # a command's options, not the command list
        assert "deploy-all" not in offered
        assert "--profile" in offered


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("fabric-ci depl", ["deploy-all", "deploy-many"]),
        ("fabric-ci deploy-all --no-w", ["--no-wait"]),
        ("fabric-ci history --li", ["--limit"]),
    ],
)
def test_fish_completion_loads_and_completes(tmp_path: Path, line: str, expected: list[str]) -> None:
    """The fish script loads in fish and completes (fish's own `complete -C`) commands and options."""
    script = run_cli(tmp_path, ["completion", "fish"])
    assert script.returncode == 0, script.stderr
    (tmp_path / "fabric-ci.fish").write_text(script.stdout)
    probe = f"source ./fabric-ci.fish; complete -C{shlex.quote(line)}"
    proc = subprocess.run(
        [installed("fish"), "--no-config", "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert [row.split("\t")[0] for row in proc.stdout.splitlines()] == expected


def test_completion_needs_a_known_shell(tmp_path: Path) -> None:
    """`fabric-ci completion tcsh` is exit 2 with the shells it knows."""
    run = run_cli(tmp_path, ["completion", "tcsh"])
    assert run.returncode == 2
    assert "bash,zsh,fish" in run.stderr
    assert run.stdout == ""


CTRL_C_DURING_IMPORT = """
import sys
from importlib.abc import MetaPathFinder

class CtrlC(MetaPathFinder):
    # A Ctrl-C that arrives while fabric_ci.cli is being imported.
    def find_spec(self, name, path=None, target=None):
        if name == "fabric_ci.cli":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
from fabric_ci.__main__ import start
sys.exit(start())
"""


def test_a_ctrl_c_while_starting_ends_in_a_line_and_130_not_a_traceback() -> None:
    """The `fabric-ci` script's entrypoint: before fabric_ci.cli has put its handlers in place."""
    proc = subprocess.run([sys.executable, "-c", CTRL_C_DURING_IMPORT], capture_output=True, text=True, check=False)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "Cancelled by SIGINT while starting: nothing was sent.\n"
    assert proc.stdout == ""


def test_the_fabric_ci_script_starts_where_python_m_fabric_ci_does() -> None:
    """Both entrypoints run the same start(): the script as installed, and `python -m fabric_ci`."""
    script = Path(sys.executable).with_name("fabric-ci")
    for argv in ([str(script), "--version"], [sys.executable, "-m", "fabric_ci", "--version"]):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("fabric-ci "), proc.stdout
    assert "fabric_ci.__main__" in script.read_text()
