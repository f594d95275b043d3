"""`make demo`: start the emulator, deploy Development -> Test on the demo pipeline, wait, stop.

The deploy runs as a real `fabric-ci` process with the terminal's own output (progress line
and summary), exactly as a person would run it against a tenant; only the inputs point at the
emulator. They come from the profile `fabric-ci emulator` prints, saved (mode 600, as a profile
holding a secret must be) in a temporary folder the deploy runs in, so the command shown is the
short form a newcomer types: what to deploy, and nothing about the connection.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.emulator.cli import EMULATOR_PROFILE
from fabric_ci.emulator.seed import DEMO_PIPELINE_NAME
from fabric_ci.runners.defaults import PROFILE_FILE


def main() -> int:
    with Emulator(EmulatorConfig(operation_seconds=8.0)) as emulator, tempfile.TemporaryDirectory() as folder:
        # The demo's own config directory (XDG_CONFIG_HOME below): the user's profiles stay untouched.
        profile = Path(folder) / "fabric-ci" / PROFILE_FILE
        profile.parent.mkdir()
        # Absolute paths (the banner's are relative to where the emulator runs, not to this folder).
        table = "\n".join(f"{name} = {json.dumps(value)}" for name, value in emulator.inputs().items())
        profile.touch(mode=0o600)
        profile.write_text(f"[profiles.{EMULATOR_PROFILE}]\n{table}\n", encoding="utf-8")
        args = [
            "deploy-all",
            f"--profile={EMULATOR_PROFILE}",
            f"--pipeline={DEMO_PIPELINE_NAME}",
            "--source-stage=Development",
            "--target-stage=Test",
            "--note=fabric-ci demo",
        ]
        env = {k: v for k, v in os.environ.items() if k not in {"GITHUB_ACTIONS", "TF_BUILD"}}
        env["XDG_CONFIG_HOME"] = folder
        sys.stderr.write(
            f"Emulator running at {emulator.url}; its profile is in {profile} (`fabric-ci emulator` prints it)\n"
            f"$ fabric-ci {shlex.join(args)}\n\n"
        )
        completed = subprocess.run([sys.executable, "-m", "fabric_ci", *args], env=env, cwd=folder, check=False)
    sys.stderr.write(f"\nEmulator stopped. fabric-ci exited with status {completed.returncode}.\n")
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
