"""`make demo`: start the emulator, deploy Development -> Test on the demo pipeline, wait, stop.

The deploy runs as a real `fabric-ci` process with the terminal's own output (progress line
and summary), exactly as a person would run it against a tenant; only the inputs point at the
emulator. The client secret travels in FABRIC_CI_CLIENT_SECRET, never on the command line.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.emulator.seed import DEMO_PIPELINE_NAME


def main() -> int:
    with Emulator(EmulatorConfig(operation_seconds=8.0)) as emulator:
        inputs = emulator.inputs()
        secret = inputs.pop("client-secret")
        args = [
            "deploy-all",
            *(f"--{name}={value}" for name, value in inputs.items()),
            f"--pipeline={DEMO_PIPELINE_NAME}",
            "--source-stage=Development",
            "--target-stage=Test",
            "--note=fabric-ci demo",
        ]
        env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
        env["FABRIC_CI_CLIENT_SECRET"] = secret
        sys.stderr.write(f"Emulator running at {emulator.url}\n$ fabric-ci {shlex.join(args)}\n\n")
        completed = subprocess.run([sys.executable, "-m", "fabric_ci", *args], env=env, check=False)
    sys.stderr.write(f"\nEmulator stopped. fabric-ci exited with status {completed.returncode}.\n")
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
