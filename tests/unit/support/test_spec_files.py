"""Finding Microsoft's spec files and downloading them into .cache/specs, against a file server on loopback."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.support import spec_files
from tests.support.spec_files import DownloadError, SpecFile, SpecsNotFoundError

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CONTENTS = {
    "fabric/platform/swagger.json": ("example/fabric-specs", "platform/swagger.json", b'{"swagger": "2.0"}\n'),
    "fabric/common/definitions.json": ("example/fabric-specs", "common/definitions.json", b'{"definitions": {}}\n'),
    "powerbi/swagger.json": ("example/PowerBI-CSharp", "sdk/swaggers/swagger.json", b'{"paths": {}}\n'),
}


def pinned(path: str, content: bytes | None = None) -> SpecFile:
    repository, upstream_path, original = CONTENTS[path]
    data = original if content is None else content
    return SpecFile(path, repository, COMMIT, upstream_path, hashlib.sha256(data).hexdigest(), len(data))


FILES = tuple(pinned(path) for path in CONTENTS)


@dataclass
class FileServer:
    """A folder laid out as <repository>/<commit>/<upstream path>, served over HTTP on 127.0.0.1."""

    root: Path
    base_url: str = ""
    requests: list[str] = field(default_factory=list)

    def publish(self, path: str, content: bytes | None = None) -> None:
        repository, upstream_path, original = CONTENTS[path]
        target = self.root / repository / COMMIT / upstream_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(original if content is None else content)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    server_record: FileServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server_record.requests.append(self.path)
        super().do_GET()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests go straight to the loopback server even where a proxy is configured."""
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FileServer]:
    record = FileServer(tmp_path / "upstream")
    record.root.mkdir()
    handler = type("Handler", (QuietHandler,), {"server_record": record})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(record.root)))
    record.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield record
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return tmp_path / "shared" / "specs"


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "repo" / ".cache" / "specs"


def fill(folder: Path) -> Path:
    for spec_file in FILES:
        (folder / spec_file.path).parent.mkdir(parents=True, exist_ok=True)
        (folder / spec_file.path).write_bytes(CONTENTS[spec_file.path][2])
    return folder


def ensure(server: FileServer, shared: Path, cache: Path, **environ: str) -> spec_files.Result:
    environ = {spec_files.BASE_URL_ENV: server.base_url, **environ}
    return spec_files.ensure_specs(environ=environ, shared=shared, cache=cache, files=FILES)


def everything_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --- downloading ------------------------------------------------------------------------------------------


def test_downloads_every_file_from_its_commit_into_the_cache(server: FileServer, shared: Path, cache: Path) -> None:
    """Without $FABRIC_CI_SPECS or ../shared/specs, each file comes from <repository>/<commit>/<path>."""
    for path in CONTENTS:
        server.publish(path)
    result = ensure(server, shared, cache)
    assert (result.folder, result.source) == (cache, ".cache/specs")
    assert sorted(result.downloaded) == sorted(CONTENTS)
    assert result.already_present == []
    assert everything_under(cache) == sorted(CONTENTS)
    for path, (_, _, content) in CONTENTS.items():
        assert (cache / path).read_bytes() == content
    assert sorted(server.requests) == sorted(f"/{repo}/{COMMIT}/{up}" for repo, up, _ in CONTENTS.values())
    assert spec_files.find_specs(environ={}, shared=shared, cache=cache, files=FILES) == cache


def test_a_tampered_file_is_refused_and_nothing_of_it_is_left(server: FileServer, shared: Path, cache: Path) -> None:
    """A body with another SHA-256 is an error naming the file and both hashes; no file, no temporary file."""
    for path in CONTENTS:
        server.publish(path)
    tampered = b'{"swagger": "2.1"}\n'  # the same size, other bytes
    server.publish("fabric/platform/swagger.json", tampered)
    with pytest.raises(DownloadError) as raised:
        ensure(server, shared, cache)
    message = str(raised.value)
    assert "fabric/platform/swagger.json: SHA-256 mismatch" in message
    assert f"expected {pinned('fabric/platform/swagger.json').sha256}" in message
    assert f"got {hashlib.sha256(tampered).hexdigest()}" in message
    assert "1 of 3 spec files could not be downloaded" in message
    assert everything_under(cache) == ["fabric/common/definitions.json", "powerbi/swagger.json"]
    with pytest.raises(SpecsNotFoundError, match=r"missing fabric/platform/swagger\.json"):
        spec_files.find_specs(environ={}, shared=shared, cache=cache, files=FILES)


def test_a_body_longer_than_the_pin_is_refused_without_reading_it_all(
    server: FileServer, shared: Path, cache: Path
) -> None:
    """More bytes than the pinned size stop the download: an error, and nothing is written."""
    for path in CONTENTS:
        server.publish(path)
    server.publish("powerbi/swagger.json", b"x" * 100_000)
    with pytest.raises(DownloadError, match=r"powerbi/swagger\.json: .* sent more than the pinned 14 bytes"):
        ensure(server, shared, cache)
    assert "powerbi/swagger.json" not in everything_under(cache)


def test_a_second_run_downloads_nothing(server: FileServer, shared: Path, cache: Path) -> None:
    """Files already in the cache with the pinned hash are kept as they are."""
    for path in CONTENTS:
        server.publish(path)
    ensure(server, shared, cache)
    server.requests.clear()
    result = ensure(server, shared, cache)
    assert server.requests == []
    assert result.downloaded == []
    assert sorted(result.already_present) == sorted(CONTENTS)
    assert result.summary() == f"specs: using .cache/specs ({cache}): 0 downloaded, 3 already present and verified"


def test_a_cached_file_with_another_hash_is_downloaded_again(server: FileServer, shared: Path, cache: Path) -> None:
    """A cached file that lost its pinned bytes is replaced; the others are not fetched."""
    for path in CONTENTS:
        server.publish(path)
    ensure(server, shared, cache)
    (cache / "powerbi/swagger.json").write_bytes(b"edited by hand\n")
    server.requests.clear()
    result = ensure(server, shared, cache)
    assert result.downloaded == ["powerbi/swagger.json"]
    assert server.requests == [f"/example/PowerBI-CSharp/{COMMIT}/sdk/swaggers/swagger.json"]
    assert (cache / "powerbi/swagger.json").read_bytes() == CONTENTS["powerbi/swagger.json"][2]


def test_a_file_missing_upstream_fails_naming_it_and_its_url(server: FileServer, shared: Path, cache: Path) -> None:
    """A 404 is reported with the file and the URL tried; the files that did download are kept."""
    server.publish("fabric/platform/swagger.json")
    server.publish("powerbi/swagger.json")
    with pytest.raises(DownloadError) as raised:
        ensure(server, shared, cache)
    url = f"{server.base_url}/example/fabric-specs/{COMMIT}/common/definitions.json"
    assert f"fabric/common/definitions.json: could not download {url}: HTTP Error 404" in str(raised.value)
    assert everything_under(cache) == ["fabric/platform/swagger.json", "powerbi/swagger.json"]


def test_only_http_base_urls_are_accepted(shared: Path, cache: Path) -> None:
    """$FABRIC_CI_SPECS_BASE_URL cannot turn the download into a file: read."""
    with pytest.raises(DownloadError, match="must be an http"):
        spec_files.ensure_specs(
            environ={spec_files.BASE_URL_ENV: "file:///etc"}, shared=shared, cache=cache, files=FILES
        )


# --- where the files are found ----------------------------------------------------------------------------


def test_shared_specs_present_means_nothing_is_downloaded(server: FileServer, shared: Path, cache: Path) -> None:
    """With ../shared/specs complete, it is used as it is: no request, no cache folder."""
    fill(shared)
    result = ensure(server, shared, cache)
    assert (result.folder, result.source, result.downloaded) == (shared, "../shared/specs", [])
    assert result.summary() == f"specs: using ../shared/specs ({shared})"
    assert server.requests == []
    assert not cache.exists()


def test_an_incomplete_shared_folder_is_passed_over_for_the_cache(
    server: FileServer, shared: Path, cache: Path
) -> None:
    """A ../shared/specs lacking a pinned file does not count: the cache is filled instead."""
    fill(shared)
    (shared / "powerbi/swagger.json").unlink()
    for path in CONTENTS:
        server.publish(path)
    assert ensure(server, shared, cache).folder == cache


def test_fabric_ci_specs_is_used_alone(server: FileServer, tmp_path: Path, shared: Path, cache: Path) -> None:
    """$FABRIC_CI_SPECS comes first; when it is set, nothing is downloaded and no other folder is looked at."""
    mine = fill(tmp_path / "mine")
    fill(shared)
    assert ensure(server, shared, cache, FABRIC_CI_SPECS=str(mine)).folder == mine
    with pytest.raises(SpecsNotFoundError, match=r"FABRIC_CI_SPECS is set, so only that folder is used"):
        ensure(server, shared, cache, FABRIC_CI_SPECS=str(tmp_path / "empty"))
    assert server.requests == []
    assert not cache.exists()


def test_the_lookup_order_is_environment_shared_cache(tmp_path: Path, shared: Path, cache: Path) -> None:
    """Each place is used only when the ones before it are unset or incomplete."""
    mine = fill(tmp_path / "mine")
    fill(shared)
    fill(cache)
    env = {"FABRIC_CI_SPECS": str(mine)}
    assert spec_files.find_specs(environ=env, shared=shared, cache=cache, files=FILES) == mine
    assert spec_files.find_specs(environ={}, shared=shared, cache=cache, files=FILES) == shared
    assert spec_files.find_specs(environ={}, shared=tmp_path / "none", cache=cache, files=FILES) == cache


def test_no_folder_fails_naming_all_three_places_and_make_specs(tmp_path: Path, shared: Path, cache: Path) -> None:
    """No folder is an AssertionError (a test fails, never skips) that says where it looked and what to run."""
    shared.mkdir(parents=True)
    with pytest.raises(AssertionError) as raised:
        spec_files.find_specs(environ={}, shared=shared, cache=cache, files=FILES)
    assert isinstance(raised.value, SpecsNotFoundError)
    message = str(raised.value)
    assert re.search(r"1\. \$FABRIC_CI_SPECS: \(not set\)", message)
    assert f"2. ../shared/specs beside the repository: {shared} (missing fabric/platform/swagger.json and 2 more)" in (
        message
    )
    assert f"3. .cache/specs in the repository: {cache} (no such folder)" in message
    assert "Run `make specs`" in message


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_prints_one_line_when_shared_specs_are_there(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], shared: Path, cache: Path
) -> None:
    """`make specs` with ../shared/specs in place says so in one line and exits 0."""
    monkeypatch.delenv("FABRIC_CI_SPECS", raising=False)
    monkeypatch.setattr(spec_files, "load_manifest", lambda: FILES)
    fill(shared)
    assert spec_files.main([], shared=shared, cache=cache) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (f"specs: using ../shared/specs ({shared})\n", "")
    assert spec_files.main(["--print-dir"], shared=shared, cache=cache) == 0
    assert capsys.readouterr().out == f"{shared}\n"


def test_the_command_downloads_from_the_base_url_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    server: FileServer,
    shared: Path,
    cache: Path,
) -> None:
    """$FABRIC_CI_SPECS_BASE_URL replaces raw.githubusercontent.com; the last line counts what was done."""
    monkeypatch.delenv("FABRIC_CI_SPECS", raising=False)
    monkeypatch.setenv("FABRIC_CI_SPECS_BASE_URL", server.base_url + "/")
    monkeypatch.setattr(spec_files, "load_manifest", lambda: FILES)
    for path in CONTENTS:
        server.publish(path)
    assert spec_files.main([], shared=shared, cache=cache) == 0
    captured = capsys.readouterr()
    assert captured.out == f"specs: using .cache/specs ({cache}): 3 downloaded, 0 already present and verified\n"
    assert captured.err == f"specs: downloading 3 of 3 files from {server.base_url}/ into {cache}\n"


def test_the_command_exits_non_zero_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    server: FileServer,
    shared: Path,
    cache: Path,
) -> None:
    """A failed download is exit status 1 and a message on stderr naming each file that failed."""
    monkeypatch.delenv("FABRIC_CI_SPECS", raising=False)
    monkeypatch.setenv("FABRIC_CI_SPECS_BASE_URL", server.base_url)
    monkeypatch.setattr(spec_files, "load_manifest", lambda: FILES)
    assert spec_files.main([], shared=shared, cache=cache) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "specs: 3 of 3 spec files could not be downloaded" in captured.err
    assert all(f"{path}: could not download" in captured.err for path in CONTENTS)


# --- the project's manifest -------------------------------------------------------------------------------


def test_the_manifest_pins_each_file_to_a_commit_and_a_hash() -> None:
    """Every entry names a Microsoft repository, a full commit, a SHA-256 and a path inside the specs folder."""
    files = spec_files.load_manifest()
    assert len({f.path for f in files}) == len(files)
    repositories = {"microsoft/fabric-rest-api-specs", "microsoft/PowerBI-CSharp", "microsoft/azure-pipelines-task-lib"}
    assert {f.repository for f in files} == repositories
    for f in files:
        assert re.fullmatch(r"[0-9a-f]{40}", f.commit), f.path
        assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.path
        assert f.size > 0, f.path
    schema = next(f for f in files if f.path == "azure-pipelines/tasks.schema.json")
    assert schema.url() == (
        "https://raw.githubusercontent.com/microsoft/azure-pipelines-task-lib/"
        "a5e7ee0f29dbcfd3772a8882795777d60b0198bf/tasks.schema.json"
    )


def test_the_folder_in_use_holds_exactly_the_pinned_bytes() -> None:
    """The files the tests read are the manifest's, byte for byte, and the manifest misses none of them."""
    files = spec_files.load_manifest()
    folder = spec_files.find_specs()
    for f in files:
        assert hashlib.sha256((folder / f.path).read_bytes()).hexdigest() == f.sha256, f"{folder / f.path}"
        assert (folder / f.path).stat().st_size == f.size, f"{folder / f.path}"
    unlisted = set(everything_under(folder)) - {f.path for f in files} - {"SOURCES.md"}
    assert not {p for p in unlisted if not Path(p).name.startswith(".")}, "add these to tests/support/spec-files.json"
