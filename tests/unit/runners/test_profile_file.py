"""The profile file's guard: a secret at rest only in a file its user alone owns and reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric_ci.errors import InputError
from fabric_ci.runners import defaults

FILE = """
[profiles.work]
tenant-id = "contoso.com"
client-secret = "s3cret"

[profiles.emulator]
tenant-id = "e37de926-00d4-493d-85c5-49d2d2fdc1fb"
"""


def profile_file(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "fabric-ci.toml"
    path.write_text(FILE)
    path.chmod(mode)
    return path


def test_another_profile_s_secret_in_a_readable_file_refuses_every_profile(tmp_path: Path) -> None:
    path = profile_file(tmp_path, 0o644)
    with pytest.raises(InputError) as refused:
        defaults.profile_values(path, "emulator")  # holds no secret itself
    assert refused.value.input_name == "client-secret"
    assert f"chmod 600 {path}" in refused.value.message
    assert "s3cret" not in refused.value.message


def test_a_private_file_is_read(tmp_path: Path) -> None:
    assert defaults.profile_values(profile_file(tmp_path, 0o600), "work") == {
        "tenant-id": "contoso.com",
        "client-secret": "s3cret",
    }


def test_a_file_another_user_owns_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = profile_file(tmp_path, 0o600)
    owner = path.stat().st_uid
    monkeypatch.setattr(defaults.os, "getuid", lambda: owner + 1)  # as if someone else ran fabric-ci
    with pytest.raises(InputError) as refused:
        defaults.profile_values(path, "work")
    assert f"which another user owns (uid {owner})" in refused.value.message
