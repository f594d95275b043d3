"""CI systems' OIDC tokens: the exact requests (runner-protocols.md), a fresh token per call, and
refusals that say what to change in the workflow."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
import respx

from fabric_ci.api.retry import Retries, RetryPolicy
from fabric_ci.auth.federated import (
    azure_devops_oidc,
    ci_oidc,
    github_oidc,
    missing_oidc,
    oidc_available,
    unverified_claims,
)
from fabric_ci.clock import Clock
from fabric_ci.errors import AuthenticationError

GITHUB = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.test/idtoken/abc?api-version=2.0",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
}
AZURE_DEVOPS = {
    "SYSTEM_OIDCREQUESTURI": "https://dev.azure.test/org/proj/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken",
    "SYSTEM_ACCESSTOKEN": "system-access-token",
    "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "9c1c3c5a-2f0e-4a4e-9d44-0a4b4b7b6a11",
}


def jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"


SUBJECT = "repo:contoso/app:ref:refs/heads/main"
TOKEN = jwt({"iss": "https://token.actions.test", "sub": SUBJECT, "aud": "api://AzureADTokenExchange"})


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)


def test_github_request_keeps_the_query_and_adds_the_encoded_audience() -> None:
    with respx.mock() as router, httpx.Client() as http:
        route = router.get(url__startswith="https://token.actions.test/idtoken/abc").respond(
            200, json={"count": 1, "value": TOKEN}
        )
        source = github_oidc(GITHUB, "api://AzureADTokenExchange", http)
        assert source is not None
        masked: list[str] = []
        source.on_assertion = masked.append
        assert source() == TOKEN
        assert source() == TOKEN  # every call asks again: msal calls it only when it needs a new assertion
    request = route.calls[0].request
    assert route.call_count == 2
    assert request.url.params["api-version"] == "2.0"
    assert request.url.params["audience"] == "api://AzureADTokenExchange"
    assert "audience=api%3A%2F%2FAzureADTokenExchange" in str(request.url)
    assert request.headers["Authorization"] == "Bearer request-token"
    assert masked == [TOKEN, TOKEN]
    assert SUBJECT in source.presented()
    assert "api://AzureADTokenExchange" in source.presented()


def test_azure_devops_request() -> None:
    with respx.mock() as router, httpx.Client() as http:
        route = router.post(url__startswith=AZURE_DEVOPS["SYSTEM_OIDCREQUESTURI"]).respond(
            200, json={"oidcToken": TOKEN}
        )
        source = azure_devops_oidc(AZURE_DEVOPS, http)
        assert source is not None
        assert source() == TOKEN
    request = route.calls[0].request
    assert dict(request.url.params) == {
        "api-version": "7.1",
        "serviceConnectionId": AZURE_DEVOPS["AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"],
    }
    assert request.headers["Authorization"] == "Bearer system-access-token"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-TFS-FedAuthRedirect"] == "Suppress"


def test_throttling_and_server_errors_are_retried() -> None:
    with respx.mock() as router, httpx.Client() as http:
        route = router.get(url__startswith="https://token.actions.test").mock(
            side_effect=[httpx.Response(503), httpx.Response(429), httpx.Response(200, json={"value": TOKEN})]
        )
        source = github_oidc(GITHUB, "api://AzureADTokenExchange", http)
        assert source is not None
        source.retries = Retries(RetryPolicy(attempts=4), Clock(lambda: 0.0, lambda _s: None))
        assert source() == TOKEN
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(403, text="forbidden"), "refused the OIDC token request (HTTP 403: forbidden)"),
        (httpx.Response(200, json={"nothing": 1}), "without a token (no `value` field)"),
        (httpx.Response(200, json={"value": ""}), "empty token"),
    ],
)
def test_refusals_say_what_to_do(response: httpx.Response, expected: str) -> None:
    with respx.mock() as router, httpx.Client() as http:
        router.get(url__startswith="https://token.actions.test").mock(return_value=response)
        source = github_oidc(GITHUB, "api://AzureADTokenExchange", http)
        assert source is not None
        with pytest.raises(AuthenticationError) as raised:
            source()
    assert expected in str(raised.value)
    if response.status_code == 403:
        assert "id-token: write" in str(raised.value)


def test_which_ci_system() -> None:
    with httpx.Client() as http:
        assert ci_oidc(GITHUB, "aud", http) is not None
        assert ci_oidc(AZURE_DEVOPS, "aud", http) is not None
        assert ci_oidc({**AZURE_DEVOPS, "SYSTEM_ACCESSTOKEN": ""}, "aud", http) is None
    assert oidc_available(GITHUB)
    assert oidc_available(AZURE_DEVOPS)
    assert not oidc_available({"GITHUB_ACTIONS": "true"})


def test_missing_oidc_says_what_to_add_for_each_ci_system() -> None:
    github = missing_oidc({"GITHUB_ACTIONS": "true"})
    assert "ACTIONS_ID_TOKEN_REQUEST_URL" in github
    assert "id-token: write" in github
    assert "fork" in github
    azure = missing_oidc({"TF_BUILD": "True", "SYSTEM_OIDCREQUESTURI": "https://x"})
    assert azure.startswith("SYSTEM_ACCESSTOKEN, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID are not set")
    assert "$(System.AccessToken)" in azure
    assert "GitHub Actions" in missing_oidc({})


def test_unverified_claims_tolerates_garbage() -> None:
    assert unverified_claims(TOKEN)["sub"] == SUBJECT
    assert unverified_claims("not-a-jwt") == {}
    assert unverified_claims("a.!!!.c") == {}
