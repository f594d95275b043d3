"""The redaction rule itself (runners/masking.py): values hidden, fabric-ci's own literals kept, for any secret."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fabric_ci.auth.token import AADSTS_HINTS
from fabric_ci.errors import DeploymentFailed, InputError, InputErrors
from fabric_ci.models.inputs import DeployAllInputs, is_guid, masked_input_values, parse_inputs
from fabric_ci.runners.masking import Redactor, product_literals

from .builders import BROKEN, deployment

PROPERTY = settings(
    max_examples=150, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Secrets as people could paste them: any text without NUL (no environment variable holds one).
secrets = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=24)
MARKER = "Zq8~marker~secret"


def redactor(*secret_values: str) -> Redactor:
    """A redactor holding what a runner registers when it reads these client-secret values."""
    redact = Redactor()
    for value in secret_values:
        for fragment in masked_input_values("client-secret", value):
            redact.add(fragment)
    return redact


def client_id_error(value: str) -> InputError:
    with pytest.raises(InputErrors) as caught:
        parse_inputs(DeployAllInputs, {"client-id": value, "tenant-id": "contoso.com", "client-secret": "s"})
    [error] = [e for e in caught.value.errors if e.input_name == "client-id"]
    return error


def test_product_literals_are_fabric_ci_text_and_not_the_emulators() -> None:
    """The literals hold fabric-ci's messages (the AADSTS hints) and none of the emulator's service text."""
    literals = product_literals()
    assert AADSTS_HINTS["AADSTS7000215"] in literals
    assert "one of auto, secret, certificate, oidc, managed-identity, user-password" in literals
    assert not [lit for lit in literals if lit.startswith("AADSTS7000215: Invalid client secret provided")]


@PROPERTY
@given(literal=st.sampled_from(sorted(product_literals())), secret=secrets)
def test_fabric_ci_text_is_never_garbled(literal: str, secret: str) -> None:
    """Any of fabric-ci's own literals comes out unchanged, whatever secret is registered (but itself)."""
    redact = redactor(secret)
    assume(literal.strip() not in {secret.strip(), *secret.strip().splitlines()})
    assume(all(literal != form for form in redact._known))
    assert redact.text(literal) == literal


@PROPERTY
@given(secret=secrets)
def test_a_secret_pasted_into_another_input_is_hidden_in_its_echo(secret: str) -> None:
    """The secret pasted into client-id: the error's own words are kept, and its echo shows no secret."""
    value = secret.strip()
    assume(value and not is_guid(value))
    marker_message = client_id_error(MARKER).message
    template = marker_message[: marker_message.index(repr(MARKER))]
    shown = redactor(value).error(client_id_error(value)).message
    assert shown.startswith(template)
    assert value not in shown[len(template) :]
    assert repr(value)[1:-1] not in shown[len(template) :]


@PROPERTY
@given(
    secret=secrets,
    before=st.sampled_from([" ", "=", ": ", "'", "(", "\n"]),
    after=st.sampled_from(["", " ", "&", ".", "'", ")"]),
)
def test_a_secret_in_service_text_never_survives(secret: str, before: str, after: str) -> None:
    """In text fabric-ci did not write, a secret standing as a token is always replaced."""
    value = secret.strip()
    assume(value and "\n" not in value and "\r" not in value)
    text = f"the service said{before}{value}{after}"
    assume(all(literal not in text for literal in product_literals() if value in literal and literal != value))
    assert value not in redactor(value).text(text).replace("the service said", "", 1)


def test_a_short_secret_inside_a_longer_word_or_id_is_left_alone() -> None:
    """Below 8 characters a secret is replaced only as a whole token: ids and words keep their letters."""
    redact = redactor("e")
    assert redact.text("operation 5d2c6a4e-0b1f-4c3e, value e.") == "operation 5d2c6a4e-0b1f-4c3e, value ***."


def test_a_long_secret_is_replaced_even_inside_other_text() -> None:
    """From 8 characters on, a secret is replaced wherever its text occurs."""
    assert redactor("tok3n-Value").text("Bearer:xtok3n-Valuey") == "Bearer:x***y"


def test_overlapping_secrets_become_one_marker() -> None:
    """Two registered secrets that overlap in a text are covered by one marker."""
    assert redactor("abc-def-ghi", "def-ghi-jkl").text("[abc-def-ghi-jkl]") == "[***]"


def test_the_marker_avoids_the_characters_of_every_secret() -> None:
    """With secrets `*` and `#`, the marker is made of a character neither contains."""
    redact = redactor("*", "#")
    assert redact.marker == "~~~"
    assert redact.text("a * b # c") == "a ~~~ b ~~~ c"


def test_an_error_copy_keeps_type_title_and_input_names() -> None:
    """A redacted error is the same kind of error, with the same title and input names, and a redacted result."""
    redact = redactor("Finance, EU: model")
    errors = redact.error(InputErrors([InputError("pipeline", "no pipeline 'Finance, EU: model'", candidates=["x"])]))
    assert type(errors) is InputErrors
    assert [e.input_name for e in errors.errors] == ["pipeline"]
    assert errors.message == "Input 'pipeline': no pipeline '***'. Did you mean: 'x'?"
    failed = redact.error(DeploymentFailed("failed", deployment(status="Failed", items=(BROKEN,))))
    assert type(failed) is DeploymentFailed
    assert failed.title == "Deployment failed"
    assert failed.result.items[0].name == "***"


def test_fields_that_hold_fabric_ci_words_are_kept() -> None:
    """Literal-typed fields (a status) are never redacted, even when the secret equals their value."""
    result = redactor("Succeeded").model(deployment(items=(BROKEN,)))
    assert result.status == "Succeeded"
    assert result.items[0].status == "Failed"
