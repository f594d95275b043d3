"""Every sign-in method, end to end: fabric-ci as a real process in GitHub mode, real msal, the
emulator's Entra ID, CI OIDC and IMDS stand-ins. Plus the refusals, and a search of everything a
run prints for any secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric_ci.emulator import Emulator, seed

from .conftest import RunStep, StepRun

# add-user of a principal that is already an admin: one sign-in, a few reads, no change.
ADD_EXISTING_ADMIN = {
    "pipeline": seed.DEMO_PIPELINE_NAME,
    "principal": seed.USER_PRINCIPAL_ID,
    "principal-type": "User",
}
TOKEN_OPERATION = {
    "secret": "Entra_Token",
    "certificate": "Entra_Token",
    "certificate-pfx": "Entra_Token",
    "oidc-github": "Entra_Token",
    "oidc-azure-devops": "Entra_Token",
    "managed-identity": "Imds_Token",
    "user-password": "Entra_Token",
}


def sign_in_step(
    run_step: RunStep, emulator: Emulator, method: str, command: str, inputs: dict[str, str], **kw: object
) -> StepRun:
    sign_in = emulator.sign_in(method)
    env = {**sign_in.environment, **kw.pop("env", {})}  # type: ignore[dict-item]
    return run_step(command, {**sign_in.inputs, **inputs}, connect=False, env=env, **kw)


def operations(emulator: Emulator) -> list[str]:
    return [r.operation for r in emulator.requests]


@pytest.mark.parametrize("method", list(TOKEN_OPERATION))
def test_every_method_signs_in(run_step: RunStep, emulator: Emulator, method: str) -> None:
    """One sign-in per method, through the endpoint that method uses, and the command succeeds."""
    run = sign_in_step(run_step, emulator, method, "add-user", ADD_EXISTING_ADMIN)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["changed"] == "false"
    seen = operations(emulator)
    assert seen.count(TOKEN_OPERATION[method]) == 1, seen
    if method.startswith("oidc"):
        federated = [a for a in emulator.assertions if a.kind == "federated"]
        assert len(federated) == 1
        ci_operation = "GitHub_IdToken" if method == "oidc-github" else "AzureDevOps_OidcToken"
        assert seen.count(ci_operation) == 1
    if method.startswith("certificate"):
        assert [a.kind for a in emulator.assertions] == ["certificate"]
    if method == "user-password":
        assert any("cannot work for accounts that need multi-factor" in w for w in run.commands("warning"))


def test_auto_signs_in_with_the_jobs_oidc_token(run_step: RunStep, emulator: Emulator) -> None:
    """No credential input and `id-token: write`: auth: auto takes the OIDC token, and says why in debug."""
    sign_in = emulator.sign_in("oidc-github")
    inputs = {k: v for k, v in sign_in.inputs.items() if k != "auth"}
    run = run_step(
        "add-user", {**inputs, **ADD_EXISTING_ADMIN}, connect=False, env={**sign_in.environment, "RUNNER_DEBUG": "1"}
    )
    assert run.returncode == 0, run.stdout
    assert (
        "::auth: auto chose oidc: no credential inputs are given, and this job can request OIDC tokens."
        in run.commands("debug")
    )


def test_certificate_as_pem_text_with_its_chain(run_step: RunStep, emulator: Emulator) -> None:
    """A renewed certificate (not uploaded to the app) from a secret: multi-line PEM text, masked
    line by line. Sent with its chain it signs in by subject name and issuer; without, Entra ID
    does not know it, and the error names the certificate used."""
    renewed = emulator.issue_client_certificate()
    pem = renewed.private_key_pem + renewed.certificate_pem + Path(emulator.ca_path).read_text()
    inputs = {**ADD_EXISTING_ADMIN, "client-certificate": pem}
    run = sign_in_step(
        run_step, emulator, "certificate", "add-user", {**inputs, "client-certificate-send-chain": "true"}
    )
    assert run.returncode == 0, run.stdout
    assert [a.kind for a in emulator.assertions] == ["certificate"]
    for line in renewed.private_key_pem.splitlines():
        if not line.startswith("-----"):
            assert f"::add-mask::{line}" in run.stdout
    refused = sign_in_step(run_step, emulator, "certificate", "add-user", inputs)
    assert refused.returncode == 1
    [error] = refused.errors
    assert "AADSTS700027" in error
    assert f"SHA-1 thumbprint {renewed.sha1_thumbprint}" in error


def test_a_long_wait_presents_a_fresh_assertion_each_time(run_step: RunStep, emulator: Emulator) -> None:
    """CI tokens expire (here after 2 s) while a deployment runs (8 s): every sign-in asks the CI
    system again. Access tokens live 3 s here, so msal signs in again for nearly every request."""
    emulator.configure(operation_seconds=8, assertion_lifetime_seconds=2, token_lifetime_seconds=3)
    run = sign_in_step(
        run_step,
        emulator,
        "oidc-github",
        "deploy-all",
        {"pipeline": seed.DEMO_PIPELINE_NAME, "source-stage": "Development"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["status"] == "Succeeded"
    federated = [a for a in emulator.assertions if a.kind == "federated"]
    assert len({a.jti for a in federated}) == len(federated) >= 3  # each one fresh, never reused
    assert federated[-1].accepted_at - federated[0].accepted_at > 2  # past the first one's lifetime
    token_statuses = [r.status for r in emulator.requests if r.operation == "Entra_Token"]
    assert token_statuses == [200] * len(federated)  # no expired assertion was ever presented


def test_a_subject_mismatch_shows_the_subject_presented(run_step: RunStep, emulator: Emulator) -> None:
    """The most common OIDC misconfiguration: the error quotes the subject GitHub presented."""
    emulator.configure(github_subject="repo:contoso/fabric-releases:pull_request")
    run = sign_in_step(run_step, emulator, "oidc-github", "add-user", ADD_EXISTING_ADMIN)
    assert run.returncode == 1
    [error] = run.errors
    assert "AADSTS700213" in error
    assert "subject 'repo:contoso/fabric-releases:pull_request'" in error
    assert "needs a federated credential with exactly this issuer and subject" in error


def test_oidc_without_the_permission_says_what_to_add(run_step: RunStep, emulator: Emulator) -> None:
    """No `id-token: write`: an input error with the workflow lines to add, and no request."""
    sign_in = emulator.sign_in("oidc-github")
    run = run_step("add-user", {**sign_in.inputs, **ADD_EXISTING_ADMIN}, connect=False)  # no ACTIONS_ID_TOKEN_*
    assert run.returncode == 2
    [error] = run.errors
    assert error.startswith("title=Invalid input 'auth'::")
    assert "id-token: write" in error
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("inputs", "input_name", "expected"),
    [
        ({"auth": "auto", "client-secret": "x"}, "auth", "the inputs of several sign-in methods are given"),
        ({"client-certificate-password": "wrong"}, "client-certificate-password", "does not open the PKCS#12"),
        ({"client-certificate": "README.md"}, "client-certificate", "is neither PEM nor a PKCS#12 (.pfx) file"),
    ],
)
def test_bad_credentials_are_input_errors_before_any_request(
    run_step: RunStep, emulator: Emulator, inputs: dict[str, str], input_name: str, expected: str
) -> None:
    """Ambiguous credentials, a wrong PFX password, a file that is no certificate: exit 2, no request."""
    run = sign_in_step(run_step, emulator, "certificate-pfx", "add-user", {**ADD_EXISTING_ADMIN, **inputs})
    assert run.returncode == 2
    assert any(e.startswith(f"title=Invalid input '{input_name}'::") and expected in e for e in run.errors), run.errors
    assert emulator.requests == []


def test_token_requests_are_retried(run_step: RunStep, emulator: Emulator) -> None:
    """A 503 from the token endpoint is retried like an API call."""
    emulator.inject(r"/[^/]+/oauth2/v2\.0/token", 1, 503)
    run = sign_in_step(run_step, emulator, "secret", "add-user", ADD_EXISTING_ADMIN)
    assert run.returncode == 0, run.stdout
    assert [r.status for r in emulator.requests if r.operation == "Entra_Token"] == [503, 200]


def test_managed_identity_off_azure_fails_fast_and_says_so(run_step: RunStep, emulator: Emulator) -> None:
    """Nothing answers at the identity endpoint (a closed port here): a clear failure, not a hang."""
    run = sign_in_step(
        run_step,
        emulator,
        "managed-identity",
        "add-user",
        ADD_EXISTING_ADMIN,
        env={"AZURE_POD_IDENTITY_AUTHORITY_HOST": "https://127.0.0.1:9"},
    )
    assert run.returncode == 1
    [error] = run.errors
    assert "Could not reach the managed identity endpoint" in error


# --- nothing secret is ever printed ---------------------------------------------------------------

CANARY_RUNS = [
    ("secret", {}, 0),
    ("secret", {"client-secret": "canary-wrong-secret-7f3a"}, 1),
    ("certificate", {}, 0),
    ("certificate-pfx", {}, 0),
    ("certificate-pfx", {"client-certificate-password": "canary-wrong-pfx-9d2c"}, 2),
    ("oidc-github", {}, 0),
    ("oidc-azure-devops", {}, 0),
    ("managed-identity", {}, 0),
    ("user-password", {}, 0),
    ("user-password", {"password": "canary-wrong-password-4b1e"}, 1),
]


def private_key_lines(pem_path: str) -> list[str]:
    text = Path(pem_path).read_text()
    key = text[text.index("-----BEGIN PRIVATE KEY-----") : text.index("-----END PRIVATE KEY-----")]
    return [line for line in key.splitlines()[1:] if line.strip()]


@pytest.mark.parametrize(("method", "override", "exit_code"), CANARY_RUNS)
def test_no_secret_reaches_any_output(
    run_step: RunStep, emulator: Emulator, method: str, override: dict[str, str], exit_code: int
) -> None:
    """With debug logging on, successful or not, no secret value, key line, assertion or access
    token appears in the log (masks aside), the outputs, the summary or stderr."""
    run = sign_in_step(
        run_step, emulator, method, "deploy-all",
        {"pipeline": seed.DEMO_PIPELINE_NAME, "source-stage": "Development", "wait": "false", **override},
        env={"RUNNER_DEBUG": "1"},
    )  # fmt: skip
    assert run.returncode == exit_code, run.stdout
    secrets = [
        seed.CLIENT_SECRET, seed.USER_PASSWORD, seed.CLIENT_CERTIFICATE_PASSWORD, seed.GITHUB_REQUEST_TOKEN,
        seed.AZURE_DEVOPS_ACCESS_TOKEN, *override.values(), *emulator.state.tokens,
        *private_key_lines(emulator.client_certificate_path),
    ]  # fmt: skip
    shown = "\n".join(line for line in run.stdout.splitlines() if not line.startswith("::add-mask::"))
    captured = {"log": shown, "stderr": run.stderr, "outputs": run.output_file, "summary": run.summary}
    for where, text in captured.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:6]}…) is in the {where}"
        assert "eyJ" not in text, f"a JWT (an assertion or a token) is in the {where}"
