"""Sign-in and cloud inputs: which method the inputs decide, what each method needs, where each
cloud signs in, and what runners mask."""

from __future__ import annotations

import pytest

from fabric_ci.models.inputs import DeployAllInputs, masked_input_values, parse_inputs

from .test_inputs import BASE, errors_of

NO_CREDENTIAL = {k: v for k, v in BASE.items() if k != "client-secret"}
USER = {"username": "deployer@contoso.com", "password": "pa55"}
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("extra", "method"),
    [
        ({"client-secret": "s"}, "secret"),
        (USER, "user-password"),
        ({}, None),  # auto with no credential input: left to the CI job's OIDC
        ({"auth": "oidc"}, "oidc"),
        ({"auth": "Managed-Identity"}, "managed-identity"),
    ],
)
def test_auto_picks_the_only_method_whose_inputs_are_given(extra: dict[str, str], method: str | None) -> None:
    assert parse_inputs(DeployAllInputs, {**NO_CREDENTIAL, **extra}).method == method


def test_inputs_of_two_methods_with_auto_are_ambiguous() -> None:
    message = errors_of(DeployAllInputs, {**BASE, "client-certificate": PEM})["auth"]
    assert "secret (client-secret) and certificate (client-certificate)" in message
    assert "Set auth to the one to use" in message


@pytest.mark.parametrize(
    ("auth", "missing"),
    [
        ("secret", {"client-secret"}),
        ("certificate", {"client-certificate"}),
        ("user-password", {"username", "password"}),
        ("oidc", set()),
    ],
)
def test_each_method_names_its_missing_inputs(auth: str, missing: set[str]) -> None:
    raw = {**NO_CREDENTIAL, "auth": auth}
    if not missing:
        assert parse_inputs(DeployAllInputs, raw).method == auth
        return
    errors = errors_of(DeployAllInputs, raw)
    assert set(errors) == missing
    assert all(f"with auth: {auth}" in errors[name] for name in missing)


def test_managed_identity_needs_no_tenant_or_client_id() -> None:
    raw = {"auth": "managed-identity", "pipeline": "P", "source-stage": "0"}
    inputs = parse_inputs(DeployAllInputs, raw)
    assert (inputs.method, inputs.client_id, inputs.tenant_id) == ("managed-identity", None, None)


def test_a_certificate_that_does_not_load_is_an_error_on_the_input_to_fix() -> None:
    errors = errors_of(DeployAllInputs, {**NO_CREDENTIAL, "client-certificate": "./nowhere/client.pfx"})
    assert "does not exist" in errors["client-certificate"]
    errors = errors_of(DeployAllInputs, {**BASE, "client-certificate-password": "x"})
    assert errors["client-certificate-password"].endswith("is given without client-certificate")


def test_unknown_auth_and_cloud_list_the_choices() -> None:
    errors = errors_of(DeployAllInputs, {**BASE, "auth": "kerberos", "cloud": "mars"})
    assert "one of auto, secret, certificate, oidc, managed-identity, user-password" in errors["auth"]
    assert "one of public, usgov, usgovhigh, usgovdod, china" in errors["cloud"]


def test_the_public_cloud_is_the_default() -> None:
    endpoints = parse_inputs(DeployAllInputs, BASE).endpoints
    assert endpoints.api_base_url == "https://api.fabric.microsoft.com/v1"
    assert endpoints.authority_host == "https://login.microsoftonline.com"
    assert endpoints.scope == "https://api.fabric.microsoft.com/.default"


def test_fabric_outside_the_public_cloud_needs_its_address_and_scope() -> None:
    errors = errors_of(DeployAllInputs, {**BASE, "cloud": "usgovhigh"})
    assert set(errors) == {"api-base-url", "scope"}
    assert "not published consistently" in errors["api-base-url"]
    given = {"api-base-url": "https://api.fabric.example.us/v1", "scope": "https://api.fabric.example.us/.default"}
    endpoints = parse_inputs(DeployAllInputs, {**BASE, "cloud": "usgovhigh", **given}).endpoints
    assert endpoints.authority_host == "https://login.microsoftonline.us"  # from the cloud
    assert (endpoints.api_base_url, endpoints.scope) == (given["api-base-url"], given["scope"])


def test_overrides_win_over_the_cloud() -> None:
    raw = {**BASE, "authority-host": "https://login.example", "scope": "api://fabric-proxy/.default"}
    endpoints = parse_inputs(DeployAllInputs, raw).endpoints
    assert (endpoints.authority_host, endpoints.scope) == ("https://login.example", "api://fabric-proxy/.default")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("scope", "https://api.fabric.microsoft.com", "ending in /.default"),
        ("username", "deployer", "user principal name"),
        ("oidc-audience", "two words", "audience"),
    ],
)
def test_malformed_values(name: str, value: str, expected: str) -> None:
    assert expected in errors_of(DeployAllInputs, {**BASE, name: value})[name]


def test_runners_mask_secrets_line_by_line_but_not_a_certificate_path() -> None:
    assert masked_input_values("client-secret", "s3cret") == ["s3cret"]
    assert masked_input_values("client-certificate", PEM) == ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"]
    assert masked_input_values("pipeline", "Sales") == []
    path = __file__
    assert masked_input_values("client-certificate", path) == []
    assert masked_input_values("client-certificate", "./not/there.pem") == ["./not/there.pem"]
