"""Benchmark: each sign-in method against the emulator, as a real GitHub-mode process.

Reports, per method, the wall time of an add-user run (one sign-in, a few reads, no change) and
the sign-in requests it sent; then a deploy-all whose deployment (8 s) outlives the CI token
(2 s) and the access token (3 s), with the number of OIDC tokens fetched and how many were distinct.
Figures, not assertions: `python bench/sign_in.py` (also part of `make bench`).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fabric_ci.emulator import Emulator, EmulatorConfig, seed
from fabric_ci.emulator.sign_in import SIGN_IN_METHODS

NOT_SIGN_IN = ("DeploymentPipelines_", "Emulator_")


def run(
    emu: Emulator, method: str, command: str, inputs: dict[str, str]
) -> tuple[int, float, collections.Counter[str]]:
    sign_in = emu.sign_in(method)
    before = len(emu.requests)
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "RUNNER_"))}
        env.update({f"INPUT_{k.upper()}": v for k, v in {**sign_in.inputs, **inputs}.items()})
        env.update(sign_in.environment)
        output, summary = Path(tmp, "output"), Path(tmp, "summary")
        output.touch()
        summary.touch()
        env.update(GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "fabric_ci", command], env=env, capture_output=True, check=False)
        elapsed = time.monotonic() - started
    return proc.returncode, elapsed, collections.Counter(r.operation for r in emu.requests[before:])


def main() -> None:
    add_user = {"pipeline": seed.DEMO_PIPELINE_NAME, "principal": seed.USER_PRINCIPAL_ID, "principal-type": "User"}
    with Emulator(EmulatorConfig(operation_seconds=8)) as emu:
        print("method             exit  wall    sign-in requests")
        for method in SIGN_IN_METHODS:
            code, elapsed, ops = run(emu, method, "add-user", add_user)
            sign_in = {op: n for op, n in ops.items() if not op.startswith(NOT_SIGN_IN)}
            print(f"{method:18} {code:4}  {elapsed * 1000:4.0f} ms  {sign_in}")
        emu.configure(assertion_lifetime_seconds=2, token_lifetime_seconds=3)
        first = len(emu.assertions)
        deploy = {"pipeline": seed.DEMO_PIPELINE_NAME, "source-stage": "Development"}
        code, elapsed, ops = run(emu, "oidc-github", "deploy-all", deploy)
        fetched = emu.assertions[first:]
        print(
            f"\noidc-github deploy-all with wait, 8 s deployment, 2 s CI tokens, 3 s access tokens: exit {code}, "
            f"{elapsed:.1f} s, {len(fetched)} OIDC tokens used ({len({a.jti for a in fetched})} distinct), "
            f"spanning {fetched[-1].accepted_at - fetched[0].accepted_at:.1f} s\nrequests: {dict(ops)}"
        )


if __name__ == "__main__":
    main()
