"""Where the tests find Microsoft's REST spec files, and `make specs`, which downloads them when they are nowhere.

The repository carries no copy of Microsoft's files, only `spec-files.json` beside this module: for each
file its path in a specs folder, the upstream repository, the commit it is pinned to, its upstream path,
its SHA-256 and its size. A folder holding every one of them is looked for in this order:

1. `$FABRIC_CI_SPECS` -- when set, the only place looked, so that a wrong folder fails instead of being
   papered over by another one;
2. `../shared/specs` beside the repository;
3. `.cache/specs` in the repository (git-ignored), which `python -m tests.support.spec_files` fills from
   `https://raw.githubusercontent.com/<repository>/<commit>/<upstream path>` (or `$FABRIC_CI_SPECS_BASE_URL`).

A download is written to a temporary file beside its target and renamed into place only once its SHA-256
is the pinned one, so the cache never holds a partial or foreign file. Files already there with the
pinned hash are not downloaded again. No folder holding the files is a test failure, never a skip.

Standard library only: `make specs` runs it before pytest, and it must not depend on what it prepares.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import ssl
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).with_name("spec-files.json")
SHARED = REPO_ROOT.parent / "shared" / "specs"
CACHE = REPO_ROOT / ".cache" / "specs"
SPECS_ENV = "FABRIC_CI_SPECS"
BASE_URL_ENV = "FABRIC_CI_SPECS_BASE_URL"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
TIMEOUT_SECONDS = 60
CHUNK = 1 << 16
USER_AGENT = "fabric-ci-tests (make specs)"

NOT_FOUND = """\
Microsoft's REST spec files (listed in tests/support/spec-files.json) were not found. Looked in, in order:
  1. $FABRIC_CI_SPECS: {env}
  2. ../shared/specs beside the repository: {shared}
  3. .cache/specs in the repository: {cache}
Run `make specs` to download them into .cache/specs (each checked against its pinned SHA-256), or set \
FABRIC_CI_SPECS to a folder that holds them."""
ENV_ONLY = " (FABRIC_CI_SPECS is set, so only that folder is used: fix it or unset it)"
MISMATCH = (
    "{path}: SHA-256 mismatch for {url}: expected {expected}, got {actual} ({size} bytes, {expected_size} pinned); "
    "nothing was written. Check $FABRIC_CI_SPECS_BASE_URL, or, if the pin was changed on purpose, "
    "tests/support/spec-files.json."
)
TOO_LARGE = (
    "{path}: {url} sent more than the pinned {expected_size} bytes; nothing was written. "
    "Check $FABRIC_CI_SPECS_BASE_URL, or, if the pin was changed on purpose, tests/support/spec-files.json."
)
UNREACHABLE = "{path}: could not download {url}: {reason}"
DOWNLOAD_FAILED = (
    "{count} of {total} spec files could not be downloaded into {cache}:\n{problems}\n"
    "Files downloaded and verified were kept; run `make specs` again, or set FABRIC_CI_SPECS to a folder "
    "that holds them."
)


class SpecFilesError(Exception):
    """The spec files are not available; the message says why and what to do."""


class SpecsNotFoundError(SpecFilesError, AssertionError):
    """No folder holds the spec files. An AssertionError too, so a test that needs them fails, never skips."""


class DownloadError(SpecFilesError):
    """Some files could not be downloaded or did not have their pinned SHA-256."""


@dataclass(frozen=True)
class SpecFile:
    """One pinned file: `path` inside a specs folder, and where and what it is upstream."""

    path: str
    repository: str
    commit: str
    upstream_path: str
    sha256: str
    size: int

    def url(self, base_url: str = DEFAULT_BASE_URL) -> str:
        return f"{base_url.rstrip('/')}/{self.repository}/{self.commit}/{quote(self.upstream_path)}"


@dataclass
class Result:
    """What `ensure_specs` found or did."""

    folder: Path
    source: str  # which of the three places
    downloaded: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = f"specs: using {self.source} ({self.folder})"
        if self.source == ".cache/specs":
            line += f": {len(self.downloaded)} downloaded, {len(self.already_present)} already present and verified"
        return line


def load_manifest(path: Path = MANIFEST) -> tuple[SpecFile, ...]:
    """The pinned files, each `path` checked to be a plain relative path (it is joined to a folder)."""
    entries = json.loads(path.read_text(encoding="utf-8"))["files"]
    files = tuple(SpecFile(**entry) for entry in entries)
    for spec_file in files:
        parts = PurePosixPath(spec_file.path).parts
        if PurePosixPath(spec_file.path).is_absolute() or not parts or ".." in parts:
            raise ValueError(f"{path}: {spec_file.path!r} is not a relative path inside the specs folder")
    return files


def missing(folder: Path, files: Iterable[SpecFile]) -> list[str]:
    """The files of `files` that `folder` does not hold."""
    return [f.path for f in files if not (folder / f.path).is_file()]


def _describe(folder: Path, files: Sequence[SpecFile]) -> str:
    absent = missing(folder, files)
    if not folder.is_dir():
        return f"{folder} (no such folder)"
    if not absent:
        return f"{folder} (complete)"
    more = f" and {len(absent) - 1} more" if len(absent) > 1 else ""
    return f"{folder} (missing {absent[0]}{more})"


def find_specs(
    *,
    environ: Mapping[str, str] | None = None,
    shared: Path = SHARED,
    cache: Path = CACHE,
    files: Sequence[SpecFile] | None = None,
) -> Path:
    """The first of $FABRIC_CI_SPECS, ../shared/specs and .cache/specs that holds every pinned file.

    Raises SpecsNotFoundError naming all three places (and `make specs`) when none does.
    """
    environ = os.environ if environ is None else environ
    return _locate(environ, shared, cache, load_manifest() if files is None else files)[0]


def _locate(environ: Mapping[str, str], shared: Path, cache: Path, files: Sequence[SpecFile]) -> tuple[Path, str]:
    configured = environ.get(SPECS_ENV)
    if configured:
        folder = Path(configured)
        if not missing(folder, files):
            return folder, "$FABRIC_CI_SPECS"
    else:
        for folder, source in ((shared, "../shared/specs"), (cache, ".cache/specs")):
            if not missing(folder, files):
                return folder, source
    raise SpecsNotFoundError(_not_found(configured, shared, cache, files))


def _not_found(configured: str | None, shared: Path, cache: Path, files: Sequence[SpecFile]) -> str:
    env = _describe(Path(configured), files) + ENV_ONLY if configured else "(not set)"
    return NOT_FOUND.format(env=env, shared=_describe(shared, files), cache=_describe(cache, files))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _opener() -> urllib.request.OpenerDirector:
    # The default context trusts what SSL_CERT_FILE / SSL_CERT_DIR name; proxies come from the environment.
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl.create_default_context()))


def _copy_verified(spec_file: SpecFile, url: str, response: IO[bytes], out: IO[bytes]) -> None:
    """Copy at most the pinned size plus one byte, hashing as it goes; raise DownloadError unless it is the pin."""
    digest = hashlib.sha256()
    size = 0
    while chunk := response.read(min(CHUNK, spec_file.size + 1 - size)):
        size += len(chunk)
        if size > spec_file.size:
            raise DownloadError(TOO_LARGE.format(path=spec_file.path, url=url, expected_size=spec_file.size))
        digest.update(chunk)
        out.write(chunk)
    if digest.hexdigest() != spec_file.sha256:
        raise DownloadError(
            MISMATCH.format(
                path=spec_file.path,
                url=url,
                expected=spec_file.sha256,
                actual=digest.hexdigest(),
                size=size,
                expected_size=spec_file.size,
            )
        )


def download(spec_file: SpecFile, target: Path, base_url: str, opener: urllib.request.OpenerDirector) -> None:
    """Put the pinned file at `target`: into a temporary file beside it, renamed once its SHA-256 is checked."""
    url = spec_file.url(base_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            # fetch() admits only http(s) base URLs, so no file: or custom scheme gets here.
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
            try:
                with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                    _copy_verified(spec_file, url, response, out)
            # URLError, HTTPError, timeouts and resets are OSErrors; a truncated body is an HTTPException.
            except (OSError, http.client.HTTPException) as error:
                raise DownloadError(UNREACHABLE.format(path=spec_file.path, url=url, reason=error)) from error
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def fetch(
    cache: Path,
    files: Sequence[SpecFile],
    base_url: str,
    log: Callable[[str], None] = lambda _line: None,
) -> tuple[list[str], list[str]]:
    """Download into `cache` each file it lacks or holds with another hash: (downloaded, already present).

    Every file is tried; DownloadError lists each that failed. Those that succeeded are kept (they are verified).
    """
    if not base_url.startswith(("https://", "http://")):
        raise DownloadError(f"${BASE_URL_ENV} must be an http(s) URL, not {base_url!r}")
    present = [f.path for f in files if (cache / f.path).is_file() and _sha256(cache / f.path) == f.sha256]
    wanted = [f for f in files if f.path not in present]
    if wanted:
        log(f"specs: downloading {len(wanted)} of {len(files)} files from {base_url} into {cache}")
    opener = _opener()
    problems = []
    for spec_file in wanted:
        try:
            download(spec_file, cache / spec_file.path, base_url, opener)
        except DownloadError as error:
            problems.append(f"  {error}")
    if problems:
        raise DownloadError(
            DOWNLOAD_FAILED.format(count=len(problems), total=len(files), cache=cache, problems="\n".join(problems))
        )
    return [f.path for f in wanted], present


def ensure_specs(
    *,
    environ: Mapping[str, str] | None = None,
    shared: Path = SHARED,
    cache: Path = CACHE,
    files: Sequence[SpecFile] | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> Result:
    """A folder holding every pinned file: $FABRIC_CI_SPECS or ../shared/specs as they are, else .cache/specs filled."""
    environ = os.environ if environ is None else environ
    files = load_manifest() if files is None else files
    if environ.get(SPECS_ENV) or not missing(shared, files):
        return Result(*_locate(environ, shared, cache, files))
    base_url = environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    downloaded, present = fetch(cache, files, base_url, log)
    folder, source = _locate(environ, shared, cache, files)
    return Result(folder, source, downloaded, present)


def main(argv: Sequence[str] | None = None, *, shared: Path = SHARED, cache: Path = CACHE) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.spec_files",
        description="Make Microsoft's REST spec files available to the tests (downloading them if need be).",
    )
    parser.add_argument(
        "--print-dir", action="store_true", help="only print the folder the tests use; download nothing"
    )
    arguments = parser.parse_args(argv)
    try:
        if arguments.print_dir:
            print(find_specs(shared=shared, cache=cache))
            return 0
        result = ensure_specs(shared=shared, cache=cache, log=lambda line: print(line, file=sys.stderr))
    except SpecFilesError as error:
        print(f"specs: {error}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
