"""`fabric-ci emulator`: run the emulator as a process until Ctrl+C or SIGTERM.

Prints where it listens, the inputs that point fabric-ci at it (client secret) and what the other
sign-in methods need (client certificate files, OIDC stand-ins, managed identity, user password);
`--ready-file` writes the same as JSON once the server accepts connections, for scripts and tests
to wait on: the secret sign-in's inputs at the top level, every method under "sign-in".
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from fabric_ci.emulator import seed
from fabric_ci.emulator.server import Emulator, EmulatorConfig
from fabric_ci.emulator.sign_in import SIGN_IN_METHODS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fabric-ci emulator",
        description="Run a local Entra ID + Fabric deployment-pipelines emulator with a demo tenant.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument(
        "--state-dir",
        default=".fabric-ci-emulator",
        help="folder for the emulator's CA certificate, ca.pem, and the client certificate files "
        "(default: .fabric-ci-emulator)",
    )
    parser.add_argument(
        "--operation-seconds", type=float, default=8.0, help="how long each deployment runs (default 8)"
    )
    parser.add_argument(
        "--retry-after", type=int, default=1, help="Retry-After seconds the API asks clients to wait (default 1)"
    )
    parser.add_argument("--page-size", type=int, default=2, help="items per page of list responses (default 2)")
    parser.add_argument(
        "--assertion-lifetime",
        type=int,
        default=600,
        help="seconds the OIDC tokens of the GitHub and Azure DevOps stand-ins live (default 600, like real ones)",
    )
    parser.add_argument(
        "--github-subject",
        default=seed.GITHUB_SUBJECT,
        help=f"subject of the GitHub stand-in's tokens (default {seed.GITHUB_SUBJECT})",
    )
    parser.add_argument(
        "--azure-devops-subject",
        default=seed.AZURE_DEVOPS_SUBJECT,
        help=f"subject of the Azure DevOps stand-in's tokens (default {seed.AZURE_DEVOPS_SUBJECT})",
    )
    parser.add_argument(
        "--federated-subject",
        action="append",
        dest="federated_subjects",
        metavar="SUBJECT",
        help="a subject the app's federated credentials trust; repeat for several (default: the seeded ones)",
    )
    parser.add_argument("--ready-file", help="write the connection details as JSON here once listening")
    parser.add_argument("--quiet", action="store_true", help="do not print a line per request")
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback


def banner(emulator: Emulator) -> str:
    inputs = emulator.inputs()
    options = " ".join(f"--{name} {value}" for name, value in inputs.items())
    with_lines = "\n".join(f"    {name}: {value}" for name, value in inputs.items())
    return (
        f"fabric-ci emulator listening on {emulator.url} (Fabric API: {emulator.api_base_url})\n"
        f"Power BI API: {emulator.powerbi_base_url} (same tenant: api powerbi, api-base-url this URL)\n"
        f"\nPoint fabric-ci at it with these options:\n  {options}\n"
        f"\nor, in a GitHub workflow step:\n  with:\n{with_lines}\n"
        f"\n{_other_sign_ins(emulator)}\n"
        f'\nDemo pipeline: "{seed.DEMO_PIPELINE_NAME}" (Development -> Test -> Production)\n'
        "Ctrl+C to stop."
    )


def _other_sign_ins(emulator: Emulator) -> str:
    """One line per sign-in method besides the secret: what differs from the inputs above."""
    shown = emulator.inputs()
    lines = ["Other sign-in methods (inputs that differ from the ones above; environment variables in capitals):"]
    for method in (m for m in SIGN_IN_METHODS if m != "secret"):
        sign_in = emulator.sign_in(method)
        parts = [f"{name}: {value}" for name, value in sign_in.inputs.items() if shown.get(name) != value]
        parts += [f"{name}={value}" for name, value in sign_in.environment.items()]
        lines.append(f"  {method:<18} " + "  ".join(parts))
    return "\n".join(lines)


def _write_ready_file(path: Path, emulator: Emulator) -> None:
    details = {
        **emulator.inputs(),
        "url": emulator.url,
        "sign-in": {
            method: {"inputs": sign_in.inputs, "environment": sign_in.environment}
            for method in SIGN_IN_METHODS
            for sign_in in [emulator.sign_in(method)]
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary name and renamed, so a waiting reader never sees half a file.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(details, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not _is_loopback(args.host):
        parser.error(
            f"--host {args.host} is not an IPv4 loopback address: the emulator serves a demo secret "
            "and a throwaway CA, so it only listens on 127.0.0.1 (or another 127.x.x.x address)."
        )
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    if args.assertion_lifetime < 1:
        parser.error("--assertion-lifetime must be at least 1")
    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        state_dir=Path(args.state_dir).resolve(),
        operation_seconds=args.operation_seconds,
        retry_after=args.retry_after,
        page_size=args.page_size,
        assertion_lifetime_seconds=args.assertion_lifetime,
        github_subject=args.github_subject,
        azure_devops_subject=args.azure_devops_subject,
        federated_subjects=frozenset(args.federated_subjects or seed.FEDERATED_SUBJECTS),
        log_requests=not args.quiet,
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
    with Emulator(config) as emulator:
        print(banner(emulator), flush=True)
        if args.ready_file:
            _write_ready_file(Path(args.ready_file), emulator)
        while not stop.wait(0.5):
            pass
        print("fabric-ci emulator stopped.", flush=True)
    return 0
