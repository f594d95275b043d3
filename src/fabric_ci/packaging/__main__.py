"""`python -m fabric_ci.packaging` (make generate): write every generated file that differs from what the
registry says now. tests/unit/packaging fails while a committed one differs.

`--image docker://ghcr.io/<owner>/fabric-ci@sha256:<digest>` writes the files of a release commit instead
(the release workflow, docs/releasing.md): every action.yml runs that image rather than building the
Dockerfile, and every task's fabric-ci.json names it for `runtime: docker`. `--output` writes into
another folder than the current one."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from fabric_ci.packaging import azure_devops, github

DOCKER = "docker://"
# <registry>/<path>@sha256:<digest>. The registry is a host name with a dot or a port (or localhost), as
# Docker tells a registry from a Docker Hub namespace; the path is lower case, as the OCI distribution
# spec requires. A tag is not accepted: a release names the image by digest alone.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_REGISTRY = rf"(?:{_HOST}(?:\.{_HOST})+(?::[0-9]+)?|{_HOST}:[0-9]+|localhost)"
IMAGE_REFERENCE = re.compile(rf"{re.escape(DOCKER)}{_REGISTRY}/{_COMPONENT}(?:/{_COMPONENT})*@sha256:[0-9a-f]{{64}}")
IMAGE_FORM = "docker://<registry>/<path>@sha256:<64 hex digits>, e.g. docker://ghcr.io/fabric-ci/fabric-ci@sha256:..."


def image_reference(text: str) -> str:
    """The --image value, refused unless it names an image in a registry by its digest."""
    if not IMAGE_REFERENCE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an image pinned by digest: give {IMAGE_FORM}")
    return text


def generated(image: str | None = None) -> dict[str, str]:
    """Path relative to the repository root -> content; with `image` (docker://...), a release's."""
    task_image = image.removeprefix(DOCKER) if image else None
    return {**github.files(image), **azure_devops.files(task_image)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fabric_ci.packaging",
        description="Write every action.yml and Azure DevOps task file from the command registry.",
    )
    parser.add_argument(
        "--image",
        type=image_reference,
        help=f"the published image every action and task runs (a release commit): {IMAGE_FORM}",
    )
    parser.add_argument(
        "--output", type=Path, default=Path.cwd(), help="the repository root to write into (default: here)"
    )
    args = parser.parse_args(argv)
    root: Path = args.output
    for path, text in generated(args.image).items():
        target = root / path
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
