"""A release commit (`python -m fabric_ci.packaging --image docker://...@sha256:...`, docs/releasing.md) names one
published image in every action.yml and every task's fabric-ci.json; anything else is refused; and the
committed tree is either all development (the Dockerfile) or all one release, never a mix."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from fabric_ci.commands import COMMANDS
from fabric_ci.packaging import azure_devops
from fabric_ci.packaging.__main__ import generated, main

ROOT = Path(__file__).resolve().parents[3]
DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"docker://ghcr.io/fabric-ci-owner/fabric-ci@{DIGEST}"
RELEASED = re.compile(r"docker://[^@\s]+/[^@\s]+@sha256:[0-9a-f]{64}")
DEVELOPMENT = {"action.yml": "Dockerfile", **{f"{name}/action.yml": "../Dockerfile" for name in COMMANDS}}
WRAPPERS = [f"{azure_devops.FOLDER}/{command.task_name}/fabric-ci.json" for command in COMMANDS.values()]


def action_image(root: Path, path: str) -> str:
    action: dict[str, Any] = YAML(typ="safe").load((root / path).read_text(encoding="utf-8"))
    image: str = action["runs"]["image"]
    return image


def wrapper_image(root: Path, path: str) -> str | None:
    image: str | None = json.loads((root / path).read_text(encoding="utf-8"))["image"]
    return image


def test_every_action_and_task_names_the_given_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --image, the root action, every command's action and every task's fabric-ci.json name that image."""
    assert main(["--image", IMAGE, "--output", str(tmp_path)]) == 0
    assert set(DEVELOPMENT) == {path for path in generated() if path.endswith("action.yml")}
    assert {path: action_image(tmp_path, path) for path in DEVELOPMENT} == dict.fromkeys(DEVELOPMENT, IMAGE)
    bare = IMAGE.removeprefix("docker://")
    assert {path: wrapper_image(tmp_path, path) for path in WRAPPERS} == dict.fromkeys(WRAPPERS, bare)
    assert capsys.readouterr().out.count("wrote ") == len(generated())


def test_only_the_image_changes(tmp_path: Path) -> None:
    """A release commit differs from main in the image lines alone: inputs, outputs and task.json are the same."""
    assert main(["--image", IMAGE, "--output", str(tmp_path)]) == 0
    for path, development in generated().items():
        released = (tmp_path / path).read_text(encoding="utf-8")
        changed = [
            (before, after)
            for before, after in zip(development.splitlines(), released.splitlines(), strict=True)
            if before != after
        ]
        if path.endswith("action.yml"):
            assert changed == [(f"  image: {DEVELOPMENT[path]}", f"  image: {IMAGE}")], path
        elif path.endswith("fabric-ci.json"):
            assert changed == [('  "image": null,', f'  "image": "{IMAGE.removeprefix("docker://")}",')], path
        else:
            assert changed == [], path


def test_without_image_the_output_is_the_development_tree(tmp_path: Path) -> None:
    """Without --image the generator writes what main holds: the Dockerfile, and no image for the tasks."""
    assert main(["--output", str(tmp_path)]) == 0
    assert {path: action_image(tmp_path, path) for path in DEVELOPMENT} == DEVELOPMENT
    assert {path: wrapper_image(tmp_path, path) for path in WRAPPERS} == dict.fromkeys(WRAPPERS)


@pytest.mark.parametrize(
    "reference",
    [
        "ghcr.io/owner/fabric-ci@" + DIGEST,  # no docker://
        "docker://ghcr.io/owner/fabric-ci:0.1.0",  # a tag moves; only a digest pins
        "docker://ghcr.io/owner/fabric-ci:0.1.0@" + DIGEST,  # a tag beside the digest
        "docker://ghcr.io/owner/fabric-ci@sha256:" + "0" * 63,  # digest too short
        "docker://ghcr.io/owner/fabric-ci@sha256:" + "A" * 64,  # digests are lower-case hex
        "docker://ghcr.io/owner/fabric-ci@sha512:" + "0" * 64,
        "docker://fabric-ci@" + DIGEST,  # no registry: Docker Hub by accident
        "docker://owner/fabric-ci@" + DIGEST,  # a namespace, not a registry host
        "docker://ghcr.io/Owner/fabric-ci@" + DIGEST,  # registries refuse upper-case repository names
        "docker://ghcr.io/@" + DIGEST,
        "Dockerfile",
        "",
        IMAGE + "\n",
        IMAGE + " ",
    ],
)
def test_a_reference_not_pinned_by_digest_is_refused(
    reference: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anything but docker://<registry>/<path>@sha256:<64 hex> exits 2 naming --image, and writes nothing."""
    with pytest.raises(SystemExit) as raised:
        main(["--image", reference, "--output", str(tmp_path)])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert "--image" in error
    assert "docker://<registry>/<path>@sha256:<64 hex digits>" in error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "reference",
    [IMAGE, "docker://localhost:5000/fabric-ci@" + DIGEST, "docker://registry.example.com/a/b/fabric-ci@" + DIGEST],
)
def test_a_digest_reference_in_any_registry_is_accepted(reference: str, tmp_path: Path) -> None:
    """Forks and mirrors publish elsewhere: any registry host, any repository path."""
    assert main(["--image", reference, "--output", str(tmp_path)]) == 0
    assert action_image(tmp_path, "action.yml") == reference


def test_the_committed_tree_is_development_or_one_release() -> None:
    """Every committed action.yml builds the Dockerfile and no task names an image (main, pull requests), or all
    of them name one and the same image by digest (a release commit): a released tree can never mix."""
    actions = {path: action_image(ROOT, path) for path in DEVELOPMENT}
    wrappers = {path: wrapper_image(ROOT, path) for path in WRAPPERS}
    if actions == DEVELOPMENT:
        assert wrappers == dict.fromkeys(WRAPPERS), "a development tree whose tasks name an image"
        return
    released = set(actions.values())
    assert len(released) == 1, f"the actions name different images: {actions}"
    (image,) = released
    assert RELEASED.fullmatch(image), f"neither the Dockerfile nor an image pinned by digest: {actions}"
    assert wrappers == dict.fromkeys(WRAPPERS, image.removeprefix("docker://")), "the tasks name another image"


def test_the_wheel_and_sdist_are_ready_for_an_index(tmp_path: Path) -> None:
    """Built as a release builds them (hatchling, the project's build backend): complete metadata, the
    README as the project page, the licence in both."""
    import subprocess
    import sys
    import tarfile
    import zipfile

    root = Path(__file__).resolve().parents[3]
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(tmp_path)], cwd=root, check=True, capture_output=True
    )
    (wheel,) = tmp_path.glob("fabric_ci-*.whl")
    (sdist,) = tmp_path.glob("fabric_ci-*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    headers, _, body = metadata.partition("\n\n")
    fields = [line.split(": ", 1) for line in headers.splitlines() if ": " in line]
    given = {name for name, _ in fields}
    assert {"Name", "Version", "Summary", "License-Expression", "License-File", "Requires-Python"} <= given
    assert ("Description-Content-Type", "text/markdown") in [tuple(f) for f in fields]
    assert {value.split(",")[0] for name, value in fields if name == "Project-URL"} >= {"Homepage", "Source", "Issues"}
    assert any(
        name == "Classifier" and value.startswith("Programming Language :: Python :: 3.11") for name, value in fields
    )
    assert body.startswith("# fabric-ci")
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "fabric_ci/cli.py" in names
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"LICENSE", "README.md", "pyproject.toml", "src/fabric_ci/cli.py"} <= members
