"""Where the project lives is written once, `[project.urls] Source` in pyproject.toml: what users copy
(the README's `uses:` lines) and what the image says of itself (its source label) must agree with it,
and no placeholder owner is left for a user to paste (docs/releasing.md)."""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Source"]
REPOSITORY = SOURCE.removeprefix("https://github.com/")
USER_DOCS = ["README.md", "CHANGELOG.md", "azure-devops-task/overview.md"]


def test_the_source_is_a_github_repository() -> None:
    assert re.fullmatch(r"https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+", SOURCE), SOURCE


def test_every_uses_line_names_this_repository() -> None:
    named = {
        (doc, match.group(1))
        for doc in USER_DOCS
        for match in re.finditer(r"uses: ([\w.-]+/fabric-ci)\b", (ROOT / doc).read_text(encoding="utf-8"))
    }
    assert named, "the README shows how to use the actions"
    assert {repository for _, repository in named} == {REPOSITORY}, sorted(named)


def test_no_placeholder_owner_is_left() -> None:
    for doc in USER_DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert "OWNER/fabric-ci" not in text, doc


def test_the_image_label_names_this_repository() -> None:
    label = re.search(r'org\.opencontainers\.image\.source="([^"]+)"', (ROOT / "Dockerfile").read_text("utf-8"))
    assert label, "the Dockerfile labels the image with its source"
    assert label.group(1) == SOURCE


def test_every_yaml_example_in_the_user_docs_is_yaml() -> None:
    """A user pastes these into a workflow: each must parse (a plain `run: echo "a: b"` does not)."""
    for doc in USER_DOCS:
        for block in re.findall(r"```ya?ml\n(.*?)```", (ROOT / doc).read_text(), re.S):
            try:
                yaml.safe_load(textwrap.dedent(block))
            except yaml.YAMLError as error:
                pytest.fail(f"{doc}: {error}\n{block}")
