"""Secrets kept out of everything a runner writes, without garbling what fabric-ci itself writes.

A plain replace of every occurrence of a secret's text hides the secret but wrecks the message around
it: a client secret `x` turned "expected one of" into "e***pected one of", and a wrong secret `wrong`
turned "The client secret is wrong." into "The client secret is ***.". Two properties are wanted at
once, whatever the secret is:

1. no secret appears where it stands as a value;
2. the text fabric-ci writes around the values stays as written.

Where a secret can appear at all. fabric-ci never formats a secret's value into its own text: secret
inputs are SecretStr, credentials.py never echoes a key or a password, and tokens only go to msal and
httpx. So a secret reaches the output only inside a *value* interpolated into fabric-ci's text: text from
the service (error descriptions, names, notes), an input value echoed by an input error (the secret
pasted into the wrong input: `got 'x'`), or an exception's text. Everything else in a message is one of
the string literals of fabric-ci's source.

The rule that follows, applied by `Redactor.text`: an occurrence of a secret is replaced by `***` unless
it lies wholly inside an occurrence, in the same text, of one of fabric-ci's own string literals that is
longer than the secret (`product_literals`: every string constant of the package's source, the emulator's
excepted: its texts stand for the service's). "The client secret is wrong." is a literal of auth/token.py,
so the `wrong` inside it stays; in "got 'wrong'" no literal covers the value, so it goes. Consequences:

- A literal only protects text it matches exactly, around the secret, in the message: a value would have
  to reproduce fabric-ci's own sentence around the secret to keep it, and then shows nothing that
  fabric-ci would not print whatever the secret is.
- A literal *equal* to the secret protects nothing: where such a word stands alone, fabric-ci's word and
  an echoed value look the same, and the secret wins. A secret that is one of fabric-ci's own words
  (`secret`, `Admin`) is hidden where that word stands alone, kept inside longer text ("client-secret").
- Short secrets (fewer than SHORT_SECRET_LENGTH characters) are replaced only as whole tokens, not inside
  a longer run of letters, digits and `_`: a one-letter secret would otherwise break every id in the
  outputs (`operation-id: 5d2c6a4***-...` for a secret `e`), and a short string inside a longer word is a
  coincidence, not an echo. An echo stands alone (quoted, after `=` or a space) and is replaced.
- Remote text is a value: a short secret that is also an ordinary word (`the`) is hidden in the service's
  sentences too. That is the price of rule 1, paid only in text fabric-ci did not write.

Each secret is also masked in the escaped forms fabric-ci could print it in (`repr`, as input errors
echo values; JSON's), and values are redacted before anything formats them: results field by field,
errors message by message, JSON documents string by string (keys, which are fabric-ci's names, never).
Escaping (JSON, Markdown, workflow-command %-encoding, control characters) thus never hides an escaped
secret from redaction, truncation never cuts a secret in two, and a document never breaks. Fields that
hold one of fabric-ci's own words by type (a status is a Literal) are left alone: they cannot echo.

The replacement is `***`, or, when a secret shares a character with it (a secret `*`), another marker
made of a character no secret contains, so that no replacement can itself spell a secret.

GitHub is another matter: the runner masks every `::add-mask::` value itself, in the log and the job
summary, wherever its text occurs and whatever its length (actions/runner's SecretMasker, plus the
value's JSON- and URI-escaped forms), so a short secret still garbles GitHub's log, by GitHub's rule.
fabric-ci registers every secret anyway: a registered secret must never appear, and GitHub's mask also
covers output that fabric-ci does not write itself. The GitHub runner warns about a short secret instead,
and what fabric-ci writes (annotations, outputs, summary) follows the rule above, so the output file,
which GitHub does not mask, stays both secret-free and exact.
"""

from __future__ import annotations

import ast
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from fabric_ci.errors import FabricCiError, InputError, InputErrors

__all__ = ["SHORT_SECRET_LENGTH", "Redactor", "product_literals"]

# Below this length a secret is replaced only as a whole token (see the module docstring).
SHORT_SECRET_LENGTH = 8
# Markers, in order of preference: the first made of a character that no secret contains is used.
_MARKERS = ("***", "###", "~~~", "^^^", "•••", "▒▒▒")
_PACKAGE = Path(__file__).resolve().parent.parent
_NOT_PRODUCT_TEXT = ("emulator",)  # the service's stand-in: its texts are remote text

E = TypeVar("E", bound=FabricCiError)
M = TypeVar("M", bound=BaseModel)


@cache
def product_literals() -> frozenset[str]:
    """Every string constant in fabric-ci's source (docstrings and the emulator excepted).

    Read from the installed sources on first need (a secret found in some text). Without sources
    (a build that ships only bytecode) the set is empty: nothing is protected, and redaction errs
    on the side of hiding.
    """
    literals: set[str] = set()
    for path in sorted(_PACKAGE.rglob("*.py")):
        if path.relative_to(_PACKAGE).parts[0] in _NOT_PRODUCT_TEXT:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        docstrings = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        }
        literals.update(
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and len(node.value) > 1
            and id(node) not in docstrings
        )
    return frozenset(literals)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _variants(secret: str) -> list[str]:
    """The secret, and the escaped forms in which fabric-ci could print it."""
    forms = [secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]]
    return [form for i, form in enumerate(forms) if form.strip() and form not in forms[:i]]


class _Secret:
    """One string to hide, and (built when first needed) the literals that may surround it."""

    def __init__(self, text: str, literals: Callable[[], frozenset[str]]) -> None:
        self.text = text
        self._literals = literals
        self.whole_tokens_only = len(text) < SHORT_SECRET_LENGTH
        self._guards: dict[tuple[str | None, str | None], list[tuple[str, int]]] | None = None

    def _literals_around(self) -> dict[tuple[str | None, str | None], list[tuple[str, int]]]:
        # (literal, offset of the secret in it), grouped by the characters just before and after the
        # secret in the literal (None: the literal starts or ends there), so that checking an
        # occurrence compares only the few literals that can match around it.
        if self._guards is None:
            size = len(self.text)
            guards: defaultdict[tuple[str | None, str | None], list[tuple[str, int]]] = defaultdict(list)
            for literal in self._literals():
                if len(literal) <= size:
                    continue
                at = literal.find(self.text)
                while at != -1:
                    before = literal[at - 1] if at else None
                    after = literal[at + size] if at + size < len(literal) else None
                    guards[(before, after)].append((literal, at))
                    at = literal.find(self.text, at + 1)
            self._guards = dict(guards)
        return self._guards

    def _in_product_text(self, text: str, at: int) -> bool:
        end = at + len(self.text)
        before = text[at - 1] if at else None
        after = text[end] if end < len(text) else None
        guards = self._literals_around()
        for key in {(before, after), (before, None), (None, after)}:
            for literal, offset in guards.get(key, ()):
                start = at - offset
                if start >= 0 and text.startswith(literal, start):
                    return True
        return False

    def _whole_token(self, text: str, at: int) -> bool:
        end = at + len(self.text)
        if _is_word(self.text[0]) and at > 0 and _is_word(text[at - 1]):
            return False
        return not (_is_word(self.text[-1]) and end < len(text) and _is_word(text[end]))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where this secret stands as a value in `text`."""
        found = []
        at = text.find(self.text)
        while at != -1:
            if (not self.whole_tokens_only or self._whole_token(text, at)) and not self._in_product_text(text, at):
                found.append((at, at + len(self.text)))
            at = text.find(self.text, at + 1)
        return found


def _is_vocabulary(annotation: Any) -> bool:
    """A Literal (or an optional one): a field that can only hold fabric-ci's own words."""
    if get_origin(annotation) is Literal:
        return True
    if get_origin(annotation) in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not NoneType]
        return bool(args) and all(get_origin(arg) is Literal for arg in args)
    return False


class Redactor:
    """The secrets one run has registered, and their removal from what a runner writes.

    `literals` is fabric-ci's own text (product_literals); a runner that rewrites fabric-ci's text
    before redacting it (Azure Pipelines spells input names its own way) passes the rewritten
    literals as well, so that its rewritten sentences stay as protected as the originals.
    """

    def __init__(self, literals: Callable[[], frozenset[str]] = product_literals) -> None:
        self._literals = literals
        self._secrets: list[_Secret] = []
        self._known: set[str] = set()
        self.marker = _MARKERS[0]

    def add(self, secret: str) -> list[str]:
        """Register a secret (and its escaped forms); returns the strings not registered before."""
        added = []
        for form in _variants(secret):
            if form not in self._known:
                self._known.add(form)
                # Longest first: where one secret contains another, the longer one's span is found.
                self._secrets.append(_Secret(form, self._literals))
                added.append(form)
        self._secrets.sort(key=lambda s: len(s.text), reverse=True)
        if added:
            self.marker = next((m for m in _MARKERS if not any(m[0] in s for s in self._known)), "")
        return added

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, text: str) -> str:
        """`text` with every secret that stands as a value in it replaced by the marker."""
        if not self._secrets or not text:
            return text
        spans = [span for secret in self._secrets if secret.text in text for span in secret.spans(text)]
        if not spans:
            return text
        out, last = [], 0
        for start, end in sorted(spans):
            if start < last:  # overlapping secrets: one marker for the whole stretch
                last = max(last, end)
                continue
            out.append(text[last:start])
            out.append(self.marker)
            last = end
        out.append(text[last:])
        return "".join(out)

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string in it redacted (mapping keys are left as they are)."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, BaseModel):
            return self.model(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, tuple):
            return tuple(self.value(item) for item in value)
        if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
            return [self.value(item) for item in value]
        return value

    def model(self, model: M) -> M:
        """A copy of a result model with its string fields redacted (Literal-typed fields kept)."""
        if not self._secrets:
            return model
        changes = {}
        for name, field in type(model).model_fields.items():
            if _is_vocabulary(field.annotation):
                continue
            current = getattr(model, name)
            redacted = self.value(current)
            if redacted != current:
                changes[name] = redacted
        return model.model_copy(update=changes) if changes else model

    def error(self, error: E) -> E:
        """A copy of an error whose messages (and partial result) are redacted; same type, same title.

        Input names are fabric-ci's and stay; the message after them, and the candidates an input
        error suggests (names from the service), are redacted.
        """
        if not self._secrets:
            return error
        copy = type(error).__new__(type(error))
        copy.__dict__.update(error.__dict__)
        if isinstance(error, InputErrors) and isinstance(copy, InputErrors):
            copy.errors = [self.error(e) for e in error.errors]
            copy.args = ("; ".join(e.message for e in copy.errors),)
        else:
            copy.args = tuple(self.text(arg) if isinstance(arg, str) else arg for arg in error.args)
        if isinstance(error, InputError) and isinstance(copy, InputError):
            copy.candidates = [self.text(c) for c in error.candidates]
        result = getattr(error, "result", None)
        if isinstance(result, BaseModel):
            copy.result = self.model(result)  # type: ignore[attr-defined]
        copy.__traceback__ = error.__traceback__
        return copy
