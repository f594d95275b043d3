"""The control API (/_emulator/...) and its in-process twins: clear refusals, all-or-nothing changes, a log
that does not swallow its own listings, and injected faults listed and cleared without a restart."""

from __future__ import annotations

import dataclasses
import json
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fabric_ci.emulator import Emulator, EmulatorConfig, state
from fabric_ci.emulator.protocol import Request, Response
from fabric_ci.emulator.server import MAX_LOGGED_BODY_BYTES
from fabric_ci.emulator.state import Settings

SETTINGS = (
    "operation_seconds, pipeline_operation_seconds, deploy_retry_after, retry_after, page_size, "
    "token_lifetime_seconds, fail_items, assertion_lifetime_seconds, github_subject, azure_devops_subject, "
    "federated_subjects, option_requirements, admin_requests_per_hour, listing_delay_seconds, definition_seconds"
)
FIELDS = "kind, path_regex, method, count, status, retry_after, delay_seconds"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(operation_seconds=0.3)) as emu:
        yield emu


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{emulator.url}/_emulator", verify=ssl.create_default_context(cafile=emulator.ca_path), timeout=10
    ) as client:
        yield client


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == "InvalidInput"
    return str(response.json()["message"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"slow": 1}, f"Invalid settings, nothing was changed: unknown setting 'slow': the settings are {SETTINGS}."),
        (
            {"page_size": 0},
            "Invalid settings, nothing was changed: page_size must be a whole number, at least 1 (got 0).",
        ),
        (
            {"retry_after": "5", "operation_seconds": -1},
            "Invalid settings, nothing was changed: retry_after must be a whole number of seconds, at least 0 "
            "(got '5'); operation_seconds must be a number of seconds, at least 0 (got -1).",
        ),
        (
            {"fail_items": [1]},
            "Invalid settings, nothing was changed: fail_items must be a list of strings (got [1]).",
        ),
        (
            ["page_size", 3],
            'Send a JSON object of settings to change, such as {"operation_seconds": 30}; '
            f"the settings are {SETTINGS}.",
        ),
    ],
)
def test_configure_refusals_name_the_bad_key_or_value_and_what_is_expected(
    http: httpx.Client, body: Any, message: str
) -> None:
    """A bad configure answers 400 InvalidInput naming the key or value and what is accepted, no Python internals."""
    assert refusal(http.post("/configure", json=body)) == message


def test_a_refused_configure_changes_nothing(emulator: Emulator, http: httpx.Client) -> None:
    """With one bad value among good ones, none is applied: the settings stay as they were."""
    before = dataclasses.replace(emulator.state.settings)
    refusal(http.post("/configure", json={"operation_seconds": 3, "fail_items": ["Sales Model"], "page_size": 0}))
    assert emulator.state.settings == before
    assert http.post("/configure", json={}).json()["page_size"] == 2


def test_configure_in_process_raises_a_clear_value_error_and_changes_nothing(emulator: Emulator) -> None:
    """Emulator.configure with a bad value raises ValueError naming it and keeps every setting."""
    before = dataclasses.replace(emulator.state.settings)
    with pytest.raises(ValueError, match=r"^page_size must be a whole number, at least 1 \(got 0\)$"):
        emulator.configure(operation_seconds=3, page_size=0)
    assert emulator.state.settings == before


def test_configure_answers_with_every_setting(http: httpx.Client) -> None:
    """A good configure answers 200 with all settings, Microsoft's Retry-After defaults among them."""
    answer = http.post("/configure", json={"page_size": 5}).json()
    assert list(answer) == [f.name for f in dataclasses.fields(Settings)]
    assert (answer["page_size"], answer["deploy_retry_after"], answer["retry_after"]) == (5, 30, 20)


def test_a_bad_emulator_config_is_refused_before_anything_starts() -> None:
    """EmulatorConfig values are checked as configure's are: a ValueError naming the setting."""
    with pytest.raises(ValueError, match=r"deploy_retry_after must be a whole number of seconds, at least 0"):
        Emulator(EmulatorConfig(deploy_retry_after=-1))
    with pytest.raises(ValueError, match=r"port must be a whole number from 0 to 65535"):
        Emulator(EmulatorConfig(port=70000))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"paht": "/x", "count": 1}, f"unknown field 'paht': the fields are {FIELDS}."),
        (
            {"path_regex": "/x", "count": 1, "kind": "boom"},
            "unknown fault kind 'boom': the kinds are status, reset, lost, slow, token_expired.",
        ),
        (
            {},
            "path_regex is required: a regular expression (a string) searched in the request's path; "
            "count is required: a whole number of requests, at least 1; "
            "status is required for kind 'status' (the default): an HTTP error status from 400 to 599.",
        ),
        (
            {"path_regex": "(", "count": 0, "status": 200},
            "path_regex '(' is not a valid regular expression: missing ), unterminated subpattern at position 0; "
            "count must be a whole number of requests, at least 1 (got 0); "
            "status must be an HTTP error status from 400 to 599 (got 200).",
        ),
        (
            {"path_regex": "/x", "count": 1, "kind": "slow"},
            "delay_seconds is required for kind 'slow': a number of seconds, at least 0.",
        ),
        (
            {"path_regex": "/x", "count": 1, "kind": "lost", "status": 503},
            "status applies to kind 'status' only, not 'lost'.",
        ),
        (
            {"path_regex": "/x", "count": 1, "status": 503, "method": "FETCH"},
            "method must be one of DELETE, GET, PATCH, POST, PUT, or null for any (got 'FETCH').",
        ),
    ],
)
def test_inject_refusals_name_the_bad_field_and_what_is_expected(
    emulator: Emulator, http: httpx.Client, body: dict[str, Any], message: str
) -> None:
    """A bad injection answers 400 saying what is wrong and expected, and adds no rule."""
    assert refusal(http.post("/inject", json=body)) == f"Invalid injection, no rule was added: {message}"
    assert emulator.injections == []


def test_inject_in_process_raises_a_clear_value_error_and_adds_no_rule(emulator: Emulator) -> None:
    """Emulator.inject with a bad field raises ValueError saying what is expected."""
    with pytest.raises(ValueError, match=r"^unknown fault kind 'drop': the kinds are status, reset, lost"):
        emulator.inject("/x", 1, kind="drop")
    with pytest.raises(ValueError, match=r"^delay_seconds applies to kind 'slow' only, not 'reset'$"):
        emulator.inject("/x", 1, kind="reset", delay_seconds=2)
    assert emulator.injections == []


def test_pending_faults_are_listed_and_cleared_without_a_restart(emulator: Emulator, http: httpx.Client) -> None:
    """GET /_emulator/inject lists pending rules in order; DELETE clears them and says how many."""
    added = http.post("/inject", json={"path_regex": "/deploy$", "count": 2, "kind": "slow", "delay_seconds": 1.5})
    assert added.json()["injected"]["kind"] == "slow"
    emulator.inject(r"/stages$", 1, 429, retry_after=3, method="get")
    assert http.get("/inject").json()["value"] == [
        {
            "kind": "slow",
            "path_regex": "/deploy$",
            "method": None,
            "count": 2,
            "status": None,
            "retry_after": None,
            "delay_seconds": 1.5,
        },
        {
            "kind": "status",
            "path_regex": "/stages$",
            "method": "GET",
            "count": 1,
            "status": 429,
            "retry_after": 3,
            "delay_seconds": None,
        },
    ]
    assert http.delete("/inject").json() == {"cleared": 2}
    assert http.get("/inject").json() == {"value": []}
    emulator.inject("/x", 1, 500)
    assert emulator.clear_injections() == 1
    assert emulator.injections == []


def test_a_fault_on_every_path_spares_the_control_api(emulator: Emulator, http: httpx.Client) -> None:
    """A rule matching every path never meets control requests, so it can always be listed and cleared."""
    emulator.inject("", 5, kind="reset")
    assert http.get("/inject").json()["value"][0]["count"] == 5
    assert http.delete("/inject").json() == {"cleared": 1}


def test_the_request_log_does_not_record_its_own_listings(emulator: Emulator, http: httpx.Client) -> None:
    """Control requests are not logged, so listing the log again and again answers the same bytes."""
    http.post("/configure", json={"page_size": 3})
    sizes = [len(http.get("/requests").content) for _ in range(16)]
    assert sizes == [len(b'{"value": []}')] * 16
    assert emulator.requests == []


def test_the_request_log_lists_api_requests_but_not_control_requests(emulator: Emulator, http: httpx.Client) -> None:
    """Between listings, the log grows by the API requests alone, whatever the control API was asked."""
    api = httpx.Client(verify=ssl.create_default_context(cafile=emulator.ca_path), timeout=10)
    with api:
        for _ in range(3):
            api.get(f"{emulator.api_base_url}/deploymentPipelines")  # 401: no token, still logged
            http.get("/requests")
            http.get("/deployments")
            http.post("/inject", json={"path_regex": "^/nowhere$", "count": 1})
    logged = http.get("/requests").json()["value"]
    assert [r["operation"] for r in logged] == ["DeploymentPipelines_ListDeploymentPipelines"] * 3
    assert [r.operation for r in emulator.requests] == ["DeploymentPipelines_ListDeploymentPipelines"] * 3


def test_a_large_body_is_logged_as_a_note_of_its_size(emulator: Emulator) -> None:
    """A body over MAX_LOGGED_BODY_BYTES is logged as a short note naming its size, request and response alike."""
    big = {"value": ["x" * 100] * (MAX_LOGGED_BODY_BYTES // 100)}
    body = json.dumps(big).encode()
    request = Request("POST", "/v1/x", {}, {"content-type": "application/json"}, body)
    emulator.record(request, "/v1/x", "Unknown", Response(200, big), {}, 0.0)
    small = Request("POST", "/v1/y", {}, {"content-type": "application/json"}, b'{"a": 1}')
    emulator.record(small, "/v1/y", "Unknown", Response(200, {"b": 2}), {}, 0.0)
    [large, kept] = emulator.requests
    size = len(body)
    assert large.request_body == large.response_body
    assert large.request_body == (
        f"<{size} bytes, not kept: the request log keeps bodies of up to {MAX_LOGGED_BODY_BYTES} bytes>"
    )
    assert (kept.request_body, kept.response_body) == ({"a": 1}, {"b": 2})


def test_the_request_log_keeps_the_most_recent_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_LOGGED_REQUESTS entries, the oldest are dropped, so the log stays bounded."""
    monkeypatch.setattr(state, "MAX_LOGGED_REQUESTS", 3)
    with Emulator() as emu:
        for index in range(5):
            emu.record(Request("GET", f"/v1/{index}", {}, {}, b""), f"/v1/{index}", "Unknown", Response(404), {}, 0.0)
        assert [r.path for r in emu.requests] == ["/v1/2", "/v1/3", "/v1/4"]
