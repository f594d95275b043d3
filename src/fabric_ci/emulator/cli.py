"""`fabric-ci emulator`: run the emulator as a process until Ctrl+C or SIGTERM.

Prints where it listens and the inputs that point fabric-ci at it; `--ready-file` writes the same
as JSON once the server accepts connections, for scripts and tests to wait on.
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
        help="folder for the emulator's CA certificate, ca.pem (default: .fabric-ci-emulator)",
    )
    parser.add_argument(
        "--operation-seconds", type=float, default=8.0, help="how long each deployment runs (default 8)"
    )
    parser.add_argument(
        "--retry-after", type=int, default=1, help="Retry-After seconds the API asks clients to wait (default 1)"
    )
    parser.add_argument("--page-size", type=int, default=2, help="items per page of list responses (default 2)")
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
        f"\nPoint fabric-ci at it with these options:\n  {options}\n"
        f"\nor, in a GitHub workflow step:\n  with:\n{with_lines}\n"
        f'\nDemo pipeline: "{seed.DEMO_PIPELINE_NAME}" (Development -> Test -> Production)\n'
        "Ctrl+C to stop."
    )


def _write_ready_file(path: Path, emulator: Emulator) -> None:
    details = {**emulator.inputs(), "url": emulator.url}
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
    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        state_dir=Path(args.state_dir).resolve(),
        operation_seconds=args.operation_seconds,
        retry_after=args.retry_after,
        page_size=args.page_size,
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
