"""Transport: retries, Retry-After, token refresh, error mapping, where the token goes."""

from __future__ import annotations

import httpx
import pytest
import respx

from fabric_ci.api.retry import Retries, Retrying, RetryPolicy
from fabric_ci.api.transport import AmbiguousResponse, Transport
from fabric_ci.errors import (
    ApiConnectionError,
    ForbiddenError,
    NotFoundError,
    ServerError,
    ThrottledError,
    UnauthorizedError,
)

from .conftest import BASE, FakeTokens, VirtualClock, retries


def fabric_error(status: int, code: str, retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = {"errorCode": code, "message": f"{code} happened", "requestId": "req-1"}
    return httpx.Response(status, json=body, headers=headers)


def test_429_waits_as_long_as_retry_after_then_succeeds(
    api: respx.MockRouter, transport: Transport, sleeps: list[float]
) -> None:
    """A 429 is retried after exactly the Retry-After the service sent."""
    route = api.get("/deploymentPipelines").mock(
        side_effect=[fabric_error(429, "RequestBlocked", "7"), httpx.Response(200, json={"value": []})]
    )
    assert transport.get_json("deploymentPipelines") == {"value": []}
    assert route.call_count == 2
    assert sleeps == [7.0]


def test_retry_after_beyond_the_retry_budget_ends_the_retries(
    api: respx.MockRouter, transport: Transport, sleeps: list[float]
) -> None:
    """A Retry-After longer than the time left is obeyed by not coming back: no early retry, no sleep."""
    route = api.get("/x").mock(side_effect=[fabric_error(429, "RequestBlocked", "3600"), httpx.Response(200, json={})])
    with pytest.raises(ThrottledError):
        transport.get_json("x")
    assert route.call_count == 1
    assert sleeps == []


def test_time_left_bounds_the_retries(api: respx.MockRouter, transport: Transport, sleeps: list[float]) -> None:
    """A caller's deadline stops retries whose Retry-After would pass it."""
    route = api.get("/x").mock(side_effect=[fabric_error(429, "RequestBlocked", "15"), httpx.Response(200, json={})])
    with pytest.raises(ThrottledError):
        transport.get_json("x", time_left=5)
    assert route.call_count == 1
    assert sleeps == []


def test_no_time_left_means_one_attempt(api: respx.MockRouter, transport: Transport, sleeps: list[float]) -> None:
    """A last look at a deadline is a single request, whatever goes wrong."""
    route = api.get("/x").mock(return_value=fabric_error(503, "ServiceUnavailable"))
    with pytest.raises(ServerError):
        transport.get_json("x", time_left=0)
    assert route.call_count == 1


@pytest.mark.parametrize("failures", [1, 2, 3])
def test_5xx_on_a_read_is_retried_with_backoff(
    api: respx.MockRouter, transport: Transport, sleeps: list[float], failures: int
) -> None:
    """Transient 5xx answers to a GET are retried until one succeeds, each after a growing backoff."""
    answers = [fabric_error(503, "ServiceUnavailable")] * failures + [httpx.Response(200, json={"ok": 1})]
    route = api.get("/x").mock(side_effect=answers)
    assert transport.get_json("x") == {"ok": 1}
    assert route.call_count == failures + 1
    assert len(sleeps) == failures
    assert all(0.5 <= s <= 8 + 1 for s in sleeps)


def test_5xx_beyond_the_attempt_budget_raises_server_error(api: respx.MockRouter, transport: Transport) -> None:
    """When every attempt fails, the last answer is raised with the service's code and request id."""
    route = api.get("/x").mock(return_value=fabric_error(500, "InternalError"))
    with pytest.raises(ServerError) as raised:
        transport.get_json("x")
    assert route.call_count == 4
    assert raised.value.details.error_code == "InternalError"
    assert "requestId req-1" in raised.value.message


def test_throttling_beyond_the_budget_raises_throttled(api: respx.MockRouter, transport: Transport) -> None:
    """Endless 429s end in ThrottledError that says what to do."""
    api.get("/x").mock(return_value=fabric_error(429, "RequestBlocked", "1"))
    with pytest.raises(ThrottledError, match="try again later"):
        transport.get_json("x")


def test_connection_errors_on_a_read_are_retried(api: respx.MockRouter, transport: Transport) -> None:
    """A reset connection on a GET is retried."""
    route = api.get("/x").mock(side_effect=[httpx.ReadError("reset"), httpx.Response(200, json={"ok": 1})])
    assert transport.get_json("x") == {"ok": 1}
    assert route.call_count == 2


def test_refused_connection_exhausts_into_a_connection_error(api: respx.MockRouter, transport: Transport) -> None:
    """A host that never answers ends in ApiConnectionError naming the base URL."""
    api.get("/x").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ApiConnectionError, match=r"api\.fabric\.test"):
        transport.get_json("x")


def test_401_refreshes_the_token_once_and_retries(
    api: respx.MockRouter, transport: Transport, tokens: FakeTokens
) -> None:
    """An expired token is refreshed and the request re-sent with the new one."""
    route = api.get("/x").mock(side_effect=[fabric_error(401, "TokenExpired"), httpx.Response(200, json={})])
    transport.get_json("x")
    assert [c.request.headers["Authorization"] for c in route.calls] == ["Bearer token-1", "Bearer token-2"]


def test_a_second_401_is_an_error(api: respx.MockRouter, transport: Transport, tokens: FakeTokens) -> None:
    """If the fresh token is refused too, the error is raised (one refresh, not a loop)."""
    route = api.get("/x").mock(return_value=fabric_error(401, "Unauthorized"))
    with pytest.raises(UnauthorizedError):
        transport.get_json("x")
    assert route.call_count == 2
    assert tokens.issued == 2


def test_403_names_the_missing_role(api: respx.MockRouter, transport: Transport) -> None:
    """A 403 says which role the principal lacks."""
    api.post("/deploymentPipelines/p/deploy").mock(return_value=fabric_error(403, "InsufficientPrivileges"))
    with pytest.raises(ForbiddenError, match="Admin of the deployment pipeline"):
        transport.request("POST", "deploymentPipelines/p/deploy", json={}, replay_safe=False)


def test_power_bi_odata_errors_map_to_the_same_details(api: respx.MockRouter, transport: Transport) -> None:
    """An OData error body fills the same errorCode and message."""
    body = {"error": {"code": "PowerBIEntityNotFound", "message": "not found"}}
    api.get("/x").mock(return_value=httpx.Response(404, json=body, headers={"RequestId": "r-9"}))
    with pytest.raises(NotFoundError) as raised:
        transport.get_json("x")
    assert "404 PowerBIEntityNotFound: not found" in str(raised.value)
    assert "r-9" in str(raised.value)


def test_token_goes_only_to_the_api_origin(api: respx.MockRouter, transport: Transport) -> None:
    """A request to another host (e.g. a Location header elsewhere) carries no Authorization header."""
    other = api.route(host="elsewhere.test").mock(return_value=httpx.Response(200, json={}))
    mine = api.get("/x").mock(return_value=httpx.Response(200, json={}))
    transport._http.get("https://elsewhere.test/v1/x", auth=transport._auth)
    transport.get_json("x")
    assert "Authorization" not in other.calls.last.request.headers
    assert mine.calls.last.request.headers["Authorization"] == "Bearer token-1"


def test_non_replayable_post_is_not_resent_after_a_5xx(api: respx.MockRouter, transport: Transport) -> None:
    """A deploy POST answered 500 is sent once and reported as ambiguous, never re-sent blindly."""
    route = api.post("/d").mock(return_value=fabric_error(500, "InternalError"))
    with pytest.raises(AmbiguousResponse):
        transport.request("POST", "d", json={}, replay_safe=False)
    assert route.call_count == 1


def test_non_replayable_post_is_not_resent_after_a_read_error(api: respx.MockRouter, transport: Transport) -> None:
    """A deploy POST whose answer was lost mid-flight is not re-sent."""
    route = api.post("/d").mock(side_effect=httpx.ReadTimeout("lost"))
    with pytest.raises(AmbiguousResponse):
        transport.request("POST", "d", json={}, replay_safe=False)
    assert route.call_count == 1


def test_non_replayable_post_is_resent_after_429_and_refused_connections(
    api: respx.MockRouter, transport: Transport
) -> None:
    """A 429 or a refused connection means the service never took the request, so re-sending is safe."""
    route = api.post("/d").mock(
        side_effect=[
            fabric_error(429, "RequestBlocked", "1"),
            httpx.ConnectError("refused"),
            httpx.Response(202, headers={"deployment-id": "d-1"}),
        ]
    )
    assert transport.request("POST", "d", json={}, replay_safe=False).status_code == 202
    assert route.call_count == 3


def test_a_deploy_post_that_found_no_free_connection_was_never_sent(
    api: respx.MockRouter, transport: Transport
) -> None:
    """A PoolTimeout is before the request leaves: tried again, and when it lasts, a connection error
    that says the request was not sent, not an ambiguous answer to look for in the history."""
    route = api.post("/d").mock(
        side_effect=[httpx.PoolTimeout("no connection"), httpx.Response(202, headers={"deployment-id": "d-1"})]
    )
    assert transport.request("POST", "d", json={}, replay_safe=False).status_code == 202
    api.post("/e").mock(side_effect=httpx.PoolTimeout("no connection"))
    with pytest.raises(ApiConnectionError, match="was not sent: no connection"):
        transport.request("POST", "e", json={}, replay_safe=False)
    assert route.call_count == 2


def test_explicit_default_port_in_the_base_url_still_gets_the_token(api: respx.MockRouter, tokens: FakeTokens) -> None:
    """`https://host:443/v1` is the same origin as `https://host/v1`, so the token is sent."""
    route = api.get("/x").mock(return_value=httpx.Response(200, json={}))
    with httpx.Client() as http:
        Transport(http, "https://api.fabric.test:443/v1", tokens).get_json("x")
    assert route.calls.last.request.headers["Authorization"] == "Bearer token-1"


def test_base_url_with_trailing_slash_builds_the_same_urls(tokens: FakeTokens) -> None:
    """`api-base-url` with or without a trailing slash addresses the same paths."""
    with httpx.Client() as http:
        assert Transport(http, BASE + "/", tokens).url("/a/b") == f"{BASE}/a/b"


def test_continuous_5xx_never_sleeps_past_the_callers_deadline(
    api: respx.MockRouter, tokens: FakeTokens, virtual: VirtualClock
) -> None:
    """With endless 503s and 40 s left, the retries end within the 40 s: no sleep crosses the deadline."""
    api.get("/x").mock(return_value=fabric_error(503, "ServiceUnavailable"))
    with httpx.Client() as http:
        transport = Transport(http, BASE, tokens, retries(virtual, attempts=20, total_seconds=600, wait_max=60))
        with pytest.raises(ServerError):
            transport.get_json("x", time_left=40)
    assert virtual.t <= 40
    assert virtual.sleeps


def test_the_policys_total_time_is_never_overrun_either(
    api: respx.MockRouter, tokens: FakeTokens, virtual: VirtualClock
) -> None:
    """Without a caller's deadline, the policy's own total bounds the time slept."""
    api.get("/x").mock(return_value=fabric_error(502, "BadGateway"))
    with httpx.Client() as http:
        transport = Transport(http, BASE, tokens, retries(virtual, attempts=50, total_seconds=30, wait_max=60))
        with pytest.raises(ServerError):
            transport.get_json("x")
    assert virtual.t <= 30


def test_a_certificate_that_does_not_verify_fails_at_once_and_names_ca_bundle(
    api: respx.MockRouter, transport: Transport, sleeps: list[float]
) -> None:
    """A TLS verification failure is not retried, and the error says to set ca-bundle."""
    failure = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
    route = api.get("/x").mock(side_effect=failure)
    with pytest.raises(ApiConnectionError, match="`ca-bundle`") as raised:
        transport.get_json("x")
    assert route.call_count == 1
    assert sleeps == []
    assert "api.fabric.test" in raised.value.message


def test_a_refused_connection_is_retried_for_seconds_then_names_host_and_input(
    api: respx.MockRouter, tokens: FakeTokens, virtual: VirtualClock
) -> None:
    """A wrong port is retried briefly (in case the service restarts), then reported with the host and input."""
    api.get("/x").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    with httpx.Client() as http:
        transport = Transport(http, BASE, tokens, retries(virtual, attempts=20), base_url_input="api-base-url")
        with pytest.raises(ApiConnectionError) as raised:
            transport.get_json("x")
    assert virtual.t <= 10
    assert len(virtual.sleeps) >= 2
    assert "api.fabric.test" in raised.value.message
    assert "`api-base-url`" in raised.value.message


def test_each_retry_is_told_to_the_caller_not_to_stderr(
    api: respx.MockRouter, tokens: FakeTokens, virtual: VirtualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retries are reported through on_retry (the runner), with what failed and the wait; nothing goes to stderr."""
    heard: list[tuple[str, Retrying]] = []
    api.get("/x").mock(side_effect=[fabric_error(429, "RequestBlocked", "12"), httpx.Response(200, json={})])
    with httpx.Client() as http:
        policy = Retries(policy=RetryPolicy(), clock=virtual.clock, on_retry=lambda what, r: heard.append((what, r)))
        Transport(http, BASE, tokens, policy).get_json("x")
    assert [(what, r.cause, r.wait, r.throttled) for what, r in heard] == [(f"GET {BASE}/x", "HTTP 429", 12.0, True)]
    assert capsys.readouterr().err == ""


def test_the_brief_window_for_refused_connections_starts_at_the_first_refusal(
    api: respx.MockRouter, transport: Transport, virtual: VirtualClock
) -> None:
    """A refused connection after a long throttling wait is still retried: the connect window opens at the refusal."""
    route = api.get("/x").mock(
        side_effect=[
            fabric_error(429, "RequestBlocked", "30"),
            httpx.ConnectError("[Errno 111] Connection refused"),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    assert transport.get_json("x") == {"ok": 1}
    assert route.call_count == 3


def test_token_expired_for_a_fresh_token_gets_more_fresh_tokens(
    api: respx.MockRouter, transport: Transport, tokens: FakeTokens
) -> None:
    """401 TokenExpired answered to fresh tokens too is tried again with new ones, a bounded number of times."""
    route = api.get("/x").mock(
        side_effect=[fabric_error(401, "TokenExpired")] * 3 + [httpx.Response(200, json={"ok": 1})]
    )
    assert transport.get_json("x") == {"ok": 1}
    assert route.call_count == 4
    api.get("/y").mock(return_value=fabric_error(401, "TokenExpired"))
    with pytest.raises(UnauthorizedError):
        transport.get_json("y")


def test_a_401_other_than_token_expired_is_not_retried_with_more_tokens(
    api: respx.MockRouter, transport: Transport
) -> None:
    """A token refused for another reason (a tenant setting) fails after the one refresh, as before."""
    route = api.get("/x").mock(return_value=fabric_error(401, "Unauthorized"))
    with pytest.raises(UnauthorizedError):
        transport.get_json("x")
    assert route.call_count == 2
