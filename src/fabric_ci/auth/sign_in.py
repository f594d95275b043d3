"""Choose how to sign in, and build the token provider for it.

`auth: auto` picks the only method whose credential inputs are given; with none given, OIDC if
the CI job can request OIDC tokens. Managed identity is never guessed: msal cannot tell whether
an IMDS endpoint exists without calling it, so it must be asked for with `auth: managed-identity`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from fabric_ci.api.retry import Retries
from fabric_ci.auth.federated import ci_oidc, missing_oidc, oidc_available
from fabric_ci.auth.token import (
    Acquirer,
    ConfidentialClient,
    ManagedIdentity,
    TokenProvider,
    UsernamePassword,
)
from fabric_ci.errors import InputError, InputErrors
from fabric_ci.models.inputs import CREDENTIAL_INPUTS, AuthMethod, Inputs, secret_fragments
from fabric_ci.operations.reporter import Reporter

NO_CREDENTIALS = (
    "no credentials are given. Give client-secret, client-certificate, or username and password; or sign in "
    "without a secret: auth: oidc in a CI job that can request OIDC tokens, or auth: managed-identity on an "
    "Azure-hosted agent. Here, OIDC is not possible: {why}"
)
ROPC_WARNING = (
    "Signing in with a username and password: this cannot work for accounts that need multi-factor "
    "authentication, and Microsoft is retiring it. Prefer a service principal with auth: oidc (no secret to "
    "store or rotate), certificate, or managed-identity."
)


def choose_method(inputs: Inputs, environ: Mapping[str, str]) -> tuple[AuthMethod, str]:
    """The sign-in method, and why (for a debug line)."""
    if inputs.auth != "auto":
        return inputs.auth, f"Signing in with auth: {inputs.auth}, as set."
    if inputs.method is not None:
        given = ", ".join(CREDENTIAL_INPUTS[inputs.method])
        return inputs.method, f"auth: auto chose {inputs.method}: only its inputs ({given}) are given."
    if oidc_available(environ):
        return "oidc", "auth: auto chose oidc: no credential inputs are given, and this job can request OIDC tokens."
    raise InputErrors([InputError("auth", NO_CREDENTIALS.format(why=missing_oidc(environ)))])


def make_token_provider(
    inputs: Inputs,
    environ: Mapping[str, str],
    http: httpx.Client,
    reporter: Reporter,
    retries: Retries | None = None,
) -> TokenProvider:
    """Everything is checked here, before the first request; the provider signs in lazily.
    `retries` is how token requests are retried (the API's own, by default)."""
    retries = retries or Retries()
    method, reason = choose_method(inputs, environ)
    reporter.debug(reason)
    for other, names in CREDENTIAL_INPUTS.items():
        given = [name for name in names if name in inputs.given]
        if other != method and given:
            reporter.warning(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} ignored: auth is {method}.")
    endpoints = inputs.endpoints
    acquirer: Acquirer
    if method == "managed-identity":
        acquirer = ManagedIdentity(client_id=inputs.client_id, scope=endpoints.scope, http=http, retries=retries)
    elif method == "user-password":
        reporter.warning(ROPC_WARNING)
        acquirer = UsernamePassword(
            tenant_id=_given(inputs, "tenant-id"),
            client_id=_given(inputs, "client-id"),
            username=_given(inputs, "username"),
            password=_given(inputs, "password"),
            authority_host=endpoints.authority_host,
            scope=endpoints.scope,
            http=http,
            retries=retries,
        )
    else:
        acquirer = _service_principal(method, inputs, environ, http, reporter, retries)
    return TokenProvider(acquirer, on_token=reporter.mask)


def _service_principal(
    method: AuthMethod,
    inputs: Inputs,
    environ: Mapping[str, str],
    http: httpx.Client,
    reporter: Reporter,
    retries: Retries,
) -> ConfidentialClient:
    credential: str | dict[str, Any]
    context: Callable[[str], str]
    if method == "secret":
        credential, context = _given(inputs, "client-secret"), _nothing_to_add
    elif method == "certificate":
        credential, context = _certificate(inputs, reporter)
    else:
        credential, context = _federated(inputs, environ, http, reporter, retries)
    return ConfidentialClient(
        tenant_id=_given(inputs, "tenant-id"),
        client_id=_given(inputs, "client-id"),
        credential=credential,
        authority_host=inputs.endpoints.authority_host,
        scope=inputs.endpoints.scope,
        http=http,
        retries=retries,
        context=context,
    )


def _given(inputs: Inputs, name: str) -> str:
    """A required input's value (Inputs.problems() has checked it is there)."""
    value = getattr(inputs, name.replace("-", "_"))
    if value is None:
        raise InputErrors([InputError(name, "required and not supplied")])
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def _nothing_to_add(_code: str) -> str:
    return ""


def _certificate(inputs: Inputs, reporter: Reporter) -> tuple[dict[str, Any], Callable[[str], str]]:
    certificate = inputs.certificate
    for fragment in secret_fragments(certificate.private_key_pem):  # the key as decoded: never printed
        reporter.mask(fragment)
    if certificate.expired():
        reporter.warning(
            f"The client certificate ({certificate.subject}) expired on {certificate.not_after:%Y-%m-%d}; "
            "Entra ID may refuse it. Upload a new certificate to the app registration."
        )
    send_chain = inputs.client_certificate_send_chain
    # msal 1.39: given a thumbprint, it signs RS256 and names the certificate by x5t; given also
    # the PEM certificates, it sends all of them in x5c (subject name/issuer auth). Without the
    # thumbprint it would sign PS256 but put only the first certificate in x5c, not the chain.
    credential: dict[str, Any] = {"private_key": certificate.private_key_pem, "thumbprint": certificate.sha1_thumbprint}
    if send_chain:
        credential["public_certificate"] = certificate.chain_pem
    used = (
        f"fabric-ci signed with the certificate {certificate.subject} (SHA-1 thumbprint "
        f"{certificate.sha1_thumbprint}{', chain sent' if send_chain else ''})."
    )

    def context(code: str) -> str:
        return used if code in ("AADSTS700027", "AADSTS700024") else ""

    return credential, context


def _federated(
    inputs: Inputs, environ: Mapping[str, str], http: httpx.Client, reporter: Reporter, retries: Retries
) -> tuple[dict[str, Any], Callable[[str], str]]:
    source = ci_oidc(environ, inputs.oidc_audience, http)
    if source is None:
        raise InputErrors([InputError("auth", f"oidc is not possible here: {missing_oidc(environ)}")])
    source.on_assertion = reporter.mask
    source.retries = retries

    def context(code: str) -> str:
        # Federated credential mismatches (AADSTS70021, 70025, 700211-700213): show what the CI
        # system presented, the usual culprit.
        return source.presented() if code.startswith("AADSTS7002") else ""

    # A callable, not a string: msal calls it for every token request, so a long wait never
    # presents an expired assertion.
    return {"client_assertion": source}, context
