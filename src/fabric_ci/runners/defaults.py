"""Defaults for a terminal's inputs: FABRIC_CI_<INPUT> environment variables and a profile file.

Precedence, per input: the command line, then the environment, then the profile. Only the local
runner uses these: in GitHub Actions and Azure Pipelines the workflow's inputs are the whole truth,
so a variable or a file left on a build agent can never change what a pipeline deploys.

A profile holds what every command shares (sign-in and connection inputs, and `pipeline`): a table
`[profiles.NAME]` in `fabric-ci.toml` in the user's config directory ($XDG_CONFIG_HOME/fabric-ci/,
by default ~/.config/fabric-ci/). Never in the working directory: a file committed to a repository
one clones could otherwise point authority-host or api-base-url elsewhere and receive the client
secret or the token that the environment supplies (the way git refuses a repository's own hooks).

Some inputs are never defaulted (COMMAND_LINE_ONLY): a confirmation such as `force` or
`allow-purge-data` left exported in a shell must not confirm a later run, and a profile's
`pipeline` must not aim a bare `fabric-ci delete-pipeline`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from fabric_ci.errors import InputError
from fabric_ci.models.inputs import SECRET_INPUTS, Inputs, input_names

__all__ = [
    "COMMAND_LINE_ONLY",
    "PROFILE_FILE",
    "PROFILE_INPUTS",
    "env_var",
    "environment_values",
    "find_profile_file",
    "local_values",
    "profile_values",
]

PROFILE_FILE = "fabric-ci.toml"
# What every command takes: a profile describes a connection, not one command's deployment.
PROFILE_INPUTS = tuple(input_names(Inputs))
# Inputs taken from the command line only, per command ("*": every command).
COMMAND_LINE_ONLY: dict[str, frozenset[str]] = {
    "*": frozenset({"force", "allow-downgrade", "allow-purge-data", "allow-take-over"}),
    "delete-pipeline": frozenset({"pipeline"}),
}


def defaultable(command: str, names: Iterable[str]) -> list[str]:
    """The inputs of `command` that the environment or a profile may supply."""
    never = COMMAND_LINE_ONLY["*"] | COMMAND_LINE_ONLY.get(command, frozenset())
    return [name for name in names if name not in never]


def env_var(name: str) -> str:
    """`client-secret` -> `FABRIC_CI_CLIENT_SECRET`."""
    return "FABRIC_CI_" + name.upper().replace("-", "_")


def environment_values(names: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The inputs set as FABRIC_CI_<INPUT> (empty counts as unset, as an empty option would)."""
    return {name: environ[env_var(name)] for name in names if environ.get(env_var(name), "").strip()}


def find_profile_file(environ: Mapping[str, str]) -> Path:
    """Where the profile file is: `fabric-ci.toml` in the user's config directory (it may not exist)."""
    config_home = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".config")
    return Path(config_home) / "fabric-ci" / PROFILE_FILE


def _text(path: Path, profile: str, key: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    raise InputError(key, f"in profile {profile!r} of {path}: expected a string, a number, true or false")


def profile_values(path: Path, profile: str) -> dict[str, str]:
    """The inputs of `[profiles.PROFILE]` in `path`, as text (the runner's currency).

    Raises InputError for a file that is no TOML, a missing profile, a key that is no input, and a
    secret in a file that others may read (a secret at rest is readable by its owner only).
    """
    try:
        # The mode and owner of the file that was read, not of whatever the path names a moment later.
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            document = tomllib.loads(file.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError("profile", f"could not read {path}: {error}") from None
    profiles = document.get("profiles")
    unknown_top = sorted(set(document) - {"profiles"})
    if unknown_top:
        raise InputError("profile", f"unknown key {unknown_top[0]!r} in {path}; expected only [profiles.NAME] tables")
    if not isinstance(profiles, dict) or not isinstance(profiles.get(profile), dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "none"
        raise InputError("profile", f"no [profiles.{profile}] in {path} (profiles there: {known})")
    table: dict[str, object] = profiles[profile]
    for key in table:
        if key not in PROFILE_INPUTS:
            raise InputError(
                "profile",
                f"unknown key {key!r} in [profiles.{profile}] of {path}; expected inputs every command takes: "
                + ", ".join(PROFILE_INPUTS),
            )
    # Any profile's secret counts, not only the chosen one's: the file gives them all away. And the
    # file must be the user's own: another user who owns it can read it, or swap in their endpoints.
    secrets = sorted({key for t in profiles.values() if isinstance(t, dict) for key in t} & SECRET_INPUTS)
    if secrets and os.name == "posix":
        mode = stat.S_IMODE(status.st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InputError(
                secrets[0],
                f"is in {path}, which others can read (mode {mode:o}); run `chmod 600 {path}` "
                "or set the secret in the environment instead",
            )
        if status.st_uid != os.getuid():
            raise InputError(
                secrets[0],
                f"is in {path}, which another user owns (uid {status.st_uid}); keep it in a file of your own "
                "or set the secret in the environment instead",
            )
    return {key: _text(path, profile, key, value) for key, value in table.items()}


def local_values(
    cli_values: Mapping[str, str],
    names: Iterable[str],
    environ: Mapping[str, str],
    profile: str | None,
) -> dict[str, str]:
    """The command line over FABRIC_CI_<INPUT> over the profile; the environment and the profile
    supply only `names` (see `defaultable`).

    `profile` is --profile; when None, FABRIC_CI_PROFILE; when neither, the profile `default`
    if a profile file exists and has one (a file without it is no error unless a profile was asked for).
    """
    names = list(names)
    chosen = profile or environ.get("FABRIC_CI_PROFILE", "").strip() or None
    from_profile: dict[str, str] = {}
    path = find_profile_file(environ)
    if chosen is not None and not path.is_file():
        raise InputError(
            "profile",
            f"{chosen!r} was asked for, but there is no {path}; `fabric-ci emulator` prints one to start from",
        )
    if path.is_file():
        try:
            from_profile = profile_values(path, chosen or "default")
        except InputError:
            if chosen is None and not _has_profile(path, "default"):
                from_profile = {}  # no profile asked for and none called default: the file is not for us
            else:
                raise
    values = {k: v for k, v in from_profile.items() if k in names}
    values.update(environment_values(names, environ))
    values.update({k: v for k, v in cli_values.items() if v.strip()})
    return values


def _has_profile(path: Path, name: str) -> bool:
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8")).get("profiles")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # unreadable: let profile_values say why
    return isinstance(profiles, dict) and name in profiles
