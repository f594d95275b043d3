"""Benchmark: the image's start-up, as a GitHub container action step starts it (`docker run`, INPUT_*
variables, GITHUB_OUTPUT), from `docker run` to the first request the emulator receives (the sign-in)
and to the first API request; deploy-all with `wait: false`.

Three ways, median of --runs (default 5) each:
- the image as built (its imported standard library compiled at build time);
- the same image with the standard library's .pyc files removed: what every step paid before
  (the base ships without them, and PYTHONDONTWRITEBYTECODE=1 means nothing is kept);
- for reference, the CLI from this checkout's .venv without a container (the .venv's Python, which
  may be another version than the image's, and this machine's environment).

Figures, not assertions: `make bench` (needs `make image`), or
`python -m bench.image_start --image fabric-ci:dev --runs 5`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.azure_devops_task import show, timed

from fabric_ci.emulator import Emulator, EmulatorConfig, seed

ROOT = Path(__file__).resolve().parents[1]


def docker_client() -> str:
    script = str(ROOT / "docker" / "dockerd.sh")
    return subprocess.run([script, "client"], capture_output=True, text=True, check=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default="fabric-ci:dev")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    docker = docker_client()
    uncompiled = "fabric-ci-bench:uncompiled"
    # The variant: the image's own standard-library .pyc files deleted, committed as a new image.
    name = f"fabric-ci-bench-{os.getpid()}"
    subprocess.run(
        [docker, "run", "--name", name, "--entrypoint", "sh", args.image, "-c",
         'find "$(python -c "import sysconfig; print(sysconfig.get_paths()[\'stdlib\'])")" -name "*.pyc" -delete'],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run([docker, "commit", name, uncompiled], check=True, capture_output=True)
    subprocess.run([docker, "rm", name], check=True, capture_output=True)
    sizes = {
        image: int(subprocess.run([docker, "image", "inspect", "-f", "{{.Size}}", image], capture_output=True,
                                  text=True, check=True).stdout)
        for image in (args.image, uncompiled)
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, Emulator(EmulatorConfig(operation_seconds=0.5)) as emulator:
        work = Path(tmp)
        ca = work / "ca.pem"
        shutil.copy(emulator.ca_path, ca)
        inputs = {**emulator.inputs(), "ca-bundle": "/github/workspace/ca.pem", "pipeline": seed.DEMO_PIPELINE_NAME,
                  "source-stage": "Development", "wait": "false"}  # fmt: skip
        step_env = {f"INPUT_{k.upper()}": v for k, v in inputs.items()}
        step_env |= {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": "/github/workspace/output",
                     "GITHUB_STEP_SUMMARY": "/github/workspace/summary"}  # fmt: skip
        (work / "output").touch()
        (work / "summary").touch()

        def container(image: str) -> list[str]:
            return [docker, "run", "--rm", "--network", "host", "--workdir", "/github/workspace",
                    "--volume", f"{work}:/github/workspace", *[f"--env={k}" for k in step_env],
                    "--entrypoint", "fabric-ci", image, "deploy-all"]  # fmt: skip

        env = {**os.environ, **step_env}
        built = [timed(container(args.image), env, emulator) for _ in range(args.runs)]
        before = [timed(container(uncompiled), env, emulator) for _ in range(args.runs)]
        local = {**env, "INPUT_CA-BUNDLE": str(ca), "GITHUB_OUTPUT": str(work / "output"),
                 "GITHUB_STEP_SUMMARY": str(work / "summary")}  # fmt: skip
        direct = [timed([sys.executable, "-m", "fabric_ci", "deploy-all"], local, emulator) for _ in range(args.runs)]
    subprocess.run([docker, "image", "rm", uncompiled], check=False, capture_output=True)
    print(f"deploy-all (wait: false) as a container action step, {args.runs} runs each; ms, median (min-max)")
    print(f"{'':<34} {'first request':>15}   {'first API request':>17}   {'exit':>15}")
    show(f"image, stdlib compiled ({sizes[args.image] / 1e6:.1f} MB)", built)
    show(f"image, stdlib uncompiled ({sizes[uncompiled] / 1e6:.1f} MB)", before)
    show("CLI from .venv, for reference", direct)
    ratio = statistics.median(r[0] for r in before) / statistics.median(r[0] for r in built)
    print(f"docker run to the first request: uncompiled / compiled = {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
