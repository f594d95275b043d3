"""Choosing the sign-in method, and what the token provider says when Entra ID refuses."""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.parse
from typing import Any

import httpx
import msal
import pytest
import respx
import trustme

from fabric_ci.api.retry import Retries
from fabric_ci.auth.sign_in import ROPC_WARNING, choose_method, make_token_provider
from fabric_ci.auth.token import MsalHttpClient, TokenProvider
from fabric_ci.clock import Clock
from fabric_ci.errors import AuthenticationError, InputErrors
from fabric_ci.models.inputs import DeployAllInputs, parse_inputs

from .test_federated import AZURE_DEVOPS, GITHUB

BASE = {
    "tenant-id": "e37de926-00d4-493d-85c5-49d2d2fdc1fb",
    "client-id": "57760066-428a-4acd-b192-e392b8e2b8d3",
    "pipeline": "Sales Analytics",
    "source-stage": "Development",
}


class RecordingReporter:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.debugs: list[str] = []
        self.masked: list[str] = []

    def phase(self, _title: str) -> Any:
        return contextlib.nullcontext()

    def info(self, _m: str) -> None: ...
    def notice(self, _m: str) -> None: ...
    def progress(self, _p: Any) -> None: ...
    def deployment_accepted(self, _operation_id: str) -> None: ...

    def debug(self, message: str) -> None:
        self.debugs.append(message)

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def mask(self, secret: str) -> None:
        self.masked.append(secret)


def inputs(**extra: str) -> DeployAllInputs:
    return parse_inputs(DeployAllInputs, {**BASE, **{k.replace("_", "-"): v for k, v in extra.items()}})


@pytest.mark.parametrize(
    ("given", "environ", "method", "why"),
    [
        ({"client_secret": "s"}, GITHUB, "secret", "only its inputs (client-secret)"),
        ({}, GITHUB, "oidc", "this job can request OIDC tokens"),
        ({}, AZURE_DEVOPS, "oidc", "this job can request OIDC tokens"),
        ({"auth": "managed-identity"}, {}, "managed-identity", "as set"),
    ],
)
def test_choice_and_its_reason(given: dict[str, str], environ: dict[str, str], method: str, why: str) -> None:
    chosen, reason = choose_method(inputs(**given), environ)
    assert chosen == method
    assert why in reason


def test_no_credentials_and_no_oidc_explains_every_way_in() -> None:
    with pytest.raises(InputErrors) as raised:
        choose_method(inputs(), {"GITHUB_ACTIONS": "true"})
    [error] = raised.value.errors
    assert error.input_name == "auth"
    for way in ("client-secret", "client-certificate", "auth: oidc", "auth: managed-identity", "id-token: write"):
        assert way in error.message


def test_explicit_oidc_without_the_permission_says_what_to_add() -> None:
    with httpx.Client() as http, pytest.raises(InputErrors) as raised:
        make_token_provider(inputs(auth="oidc"), {"GITHUB_ACTIONS": "true"}, http, RecordingReporter())
    assert "permissions:\n    id-token: write" in str(raised.value)


def test_user_password_warns_and_unused_credentials_are_named() -> None:
    reporter = RecordingReporter()
    with httpx.Client() as http:
        provider = make_token_provider(
            inputs(auth="user-password", username="u@contoso.com", password="p", client_secret="s"), {}, http, reporter
        )
    assert isinstance(provider, TokenProvider)
    assert ROPC_WARNING in reporter.warnings
    assert "client-secret is ignored: auth is user-password." in reporter.warnings
    assert reporter.debugs == ["Signing in with auth: user-password, as set."]


class Refusing:
    endpoint = "Entra ID (https://login.test)"

    def __init__(self, result: dict[str, Any], context: str = "") -> None:
        self.result = result
        self._context = context

    def acquire(self, *, refresh: bool) -> dict[str, Any]:
        return self.result

    def context(self, code: str) -> str:
        return self._context


def refusal(description: str, context: str = "") -> str:
    provider = TokenProvider(Refusing({"error": "invalid_client", "error_description": description}, context))
    with pytest.raises(AuthenticationError) as raised:
        provider.token()
    return str(raised.value)


def test_refusals_name_the_cause_and_the_fix() -> None:
    message = refusal("AADSTS7000222: The provided client secret keys are expired.\r\nTrace ID: x")
    assert message.startswith("Entra ID refused the sign-in: invalid_client: AADSTS7000222")
    assert "Create a new one" in message
    assert "Trace ID" not in message
    subject = "issuer 'https://token.actions.githubusercontent.com', subject 'repo:o/r:pull_request'"
    message = refusal(
        "AADSTS700213: No matching federated identity record found", f"GitHub Actions presented {subject}"
    )
    assert "The subject does not match" in message
    assert subject in message
    assert "Identity not found" in refusal("Identity not found")
    assert "No managed identity with this `client-id`" in refusal("Identity not found")


def test_each_new_token_is_masked_once() -> None:
    masked: list[str] = []
    tokens = iter(["t1", "t1", "t2"])

    class Issuing(Refusing):
        def acquire(self, *, refresh: bool) -> dict[str, Any]:
            return {"access_token": next(tokens)}

    provider = TokenProvider(Issuing({}), on_token=masked.append)
    assert [provider.token(), provider.token(), provider.token()] == ["t1", "t1", "t2"]
    assert masked == ["t1", "t2"]


def test_reads_refused_with_one_expired_token_sign_in_again_once() -> None:
    """Four reads side by side meet a 401 with the same token: the first signs in again, the others
    get its new token instead of each signing in (with OIDC, each a CI token request too)."""
    refreshes: list[bool] = []

    class Renewing(Refusing):
        def acquire(self, *, refresh: bool) -> dict[str, Any]:
            refreshes.append(refresh)
            return {"access_token": f"t{sum(refreshes) + 1}"}

    provider = TokenProvider(Renewing({}))
    sent = provider.token()
    assert [provider.token(refresh=True, rejected=sent) for _ in range(4)] == ["t2"] * 4
    assert refreshes == [False, True]
    assert provider.token(refresh=True, rejected="t2") == "t3"  # the current token refused: a new one


def test_token_requests_follow_the_api_retry_policy() -> None:
    """msal's HTTP goes through MsalHttpClient: a 429 and a 503 are retried like API calls."""
    with respx.mock() as router, httpx.Client() as http:
        route = router.post("https://login.test/t/oauth2/v2.0/token").mock(
            side_effect=[httpx.Response(429), httpx.Response(503), httpx.Response(200, json={"access_token": "a"})]
        )
        response = MsalHttpClient(http, Retries(clock=Clock(lambda: 0.0, lambda _s: None))).post(
            "https://login.test/t/oauth2/v2.0/token", data={"grant_type": "client_credentials"}
        )
    assert response.status_code == 200
    assert route.call_count == 3


def test_msal_requests_get_a_timeout() -> None:
    """msal passes no timeout; httpx would read None as "wait forever"."""
    with respx.mock() as router, httpx.Client(timeout=httpx.Timeout(7.0)) as http:
        route = router.get("https://login.test/x").respond(200, json={})
        MsalHttpClient(http, Retries()).get("https://login.test/x")
        MsalHttpClient(http, Retries(), timeout=httpx.Timeout(9.0, connect=3.0)).get("https://login.test/x")
    assert route.calls[0].request.extensions["timeout"]["connect"] == 7.0
    assert route.calls[1].request.extensions["timeout"]["connect"] == 3.0


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (msal.exceptions.MsalServiceError(error="http_error", error_description="HTTP Error: 503"), "unavailable"),
        (json.JSONDecodeError("Expecting value", "<html>", 0), "something other than JSON"),
        (httpx.ConnectError("refused"), r"Could not reach Entra ID \(https://login.test\)"),
    ],
)
def test_failures_below_msal_become_sign_in_errors(raised: Exception, expected: str) -> None:
    """Not "a bug in fabric-ci": an outage, a proxy's HTML page, a refused connection."""

    class Failing(Refusing):
        def acquire(self, *, refresh: bool) -> dict[str, Any]:
            raise raised

    with pytest.raises(AuthenticationError, match=expected):
        TokenProvider(Failing({})).token()


def test_send_chain_puts_every_certificate_in_x5c() -> None:
    """msal sends only the first certificate unless it is also given the thumbprint."""
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert(common_name="fabric-ci-test", key_type=trustme.KeyType.RSA)
    pem = (
        leaf.private_key_pem.bytes().decode() + leaf.cert_chain_pems[0].bytes().decode() + ca.cert_pem.bytes().decode()
    )
    authority = "https://login.test/e37de926-00d4-493d-85c5-49d2d2fdc1fb"
    with respx.mock() as router, httpx.Client() as http:
        router.get(f"{authority}/v2.0/.well-known/openid-configuration").respond(
            200,
            json={
                "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                "token_endpoint": f"{authority}/oauth2/v2.0/token",
                "issuer": authority,
            },
        )
        token = router.post(f"{authority}/oauth2/v2.0/token").respond(
            200, json={"access_token": "a", "expires_in": 3600}
        )
        for send_chain, chain_length in (("true", 2), ("false", 0)):
            chosen = inputs(
                client_certificate=pem, client_certificate_send_chain=send_chain, authority_host="https://login.test"
            )
            make_token_provider(chosen, {}, http, RecordingReporter()).token()
            form = dict(urllib.parse.parse_qsl(token.calls[-1].request.content.decode()))
            header = jwt_header(form["client_assertion"])
            assert len(header.get("x5c", [])) == chain_length
            assert header["alg"] == "RS256"
            assert "x5t" in header


def jwt_header(assertion: str) -> dict[str, Any]:
    first = assertion.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))))
