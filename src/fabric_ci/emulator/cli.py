"""`fabric-ci emulator`: run the emulator as a process until Ctrl+C or SIGTERM.

Prints where it listens, the inputs that point fabric-ci at it (client secret) and what the other
sign-in methods need (client certificate files, OIDC stand-ins, managed identity, user password);
`--ready-file` writes the same as JSON once the server accepts connections, for scripts and tests
to wait on: the secret sign-in's inputs at the top level, every method under "sign-in".

Bad flags are refused before anything happens, and the port is taken before anything is written
to the state folder: a second emulator on a port in use exits 2 with one line, leaving the first
one's ca.pem alone.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from fabric_ci.emulator import seed
from fabric_ci.emulator.server import Emulator, EmulatorConfig, PortInUse, StartError
from fabric_ci.emulator.sign_in import SIGN_IN_METHODS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fabric-ci emulator",
        description="Run a local Entra ID + Fabric deployment-pipelines emulator with a demo tenant.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="port to listen on, 0-65535 (default 0: any free port)")
    parser.add_argument(
        "--state-dir",
        default=".fabric-ci-emulator",
        help="folder for the emulator's CA certificate, ca.pem, and the client certificate files "
        "(default: .fabric-ci-emulator)",
    )
    parser.add_argument(
        "--operation-seconds", type=_seconds, default=8.0, help="how long each deployment runs (default 8)"
    )
    parser.add_argument(
        "--deploy-retry-after",
        type=_whole(0),
        default=30,
        help="Retry-After seconds of the Fabric deploy answer, 202 (default 30, as in Microsoft's example)",
    )
    parser.add_argument(
        "--retry-after",
        type=_whole(0),
        default=20,
        help="Retry-After seconds of a running operation's state, GET /v1/operations/{id}, and of injected "
        "429s that name none (default 20, as in Microsoft's example)",
    )
    parser.add_argument("--page-size", type=_whole(1), default=2, help="items per page of list responses (default 2)")
    parser.add_argument(
        "--assertion-lifetime",
        type=_whole(1),
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


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535 (0: any free port), got {text!r}")
    return int(text)


def _whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number, at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number, at least {minimum}, got {text!r}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, at least 0, got {text!r}")
    return value


def _writable_folder_error(flag: str, path: Path) -> str | None:
    """Why `path` cannot be (made into) a folder we write to, or None. Nothing is created."""
    if path.exists() and not path.is_dir():
        return f"{flag} {path} is a file, not a folder: choose a folder (it is created if missing)"
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return f"{flag} {path} is inside {existing}, which is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{flag} {path} is not writable ({existing} does not let you create files): choose another folder"
    return None


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
    state_dir = Path(args.state_dir).resolve()
    problem = _writable_folder_error("--state-dir", state_dir)
    if problem is None and args.ready_file:
        ready_file = Path(args.ready_file).resolve()
        if ready_file.is_dir():
            problem = f"--ready-file {ready_file} is a folder: give the name of a file to write"
        else:
            problem = _writable_folder_error("--ready-file's folder", ready_file.parent)
    if problem is not None:
        parser.error(problem)
    try:
        emulator = Emulator(
            EmulatorConfig(
                host=args.host,
                port=args.port,
                state_dir=state_dir,
                operation_seconds=args.operation_seconds,
                deploy_retry_after=args.deploy_retry_after,
                retry_after=args.retry_after,
                page_size=args.page_size,
                assertion_lifetime_seconds=args.assertion_lifetime,
                github_subject=args.github_subject,
                azure_devops_subject=args.azure_devops_subject,
                federated_subjects=frozenset(args.federated_subjects or seed.FEDERATED_SUBJECTS),
                log_requests=not args.quiet,
            )
        )
    except ValueError as error:  # a setting the flags' own checks let through, such as an empty subject
        parser.error(str(error))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
    try:
        emulator.start()
    except PortInUse as error:
        print(
            f"fabric-ci emulator: port {error.port} on {error.host} is in use (another emulator?); "
            "choose another --port or stop it",
            file=sys.stderr,
        )
        return 2
    except StartError as error:
        print(f"fabric-ci emulator: {error}", file=sys.stderr)
        return 2
    try:
        print(banner(emulator), flush=True)
        if args.ready_file:
            _write_ready_file(Path(args.ready_file), emulator)
        while not stop.wait(0.5):
            pass
        print("fabric-ci emulator stopped.", flush=True)
    finally:
        emulator.stop()
    return 0
