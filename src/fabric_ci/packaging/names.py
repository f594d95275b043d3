"""How an input looks to its users on each platform: its spelling, its label and its default."""

from __future__ import annotations

from datetime import timedelta

from pydantic.fields import FieldInfo

from fabric_ci.commands import Command
from fabric_ci.models.inputs import DEFAULT_TIMEOUT, parse_duration

_ACRONYMS = {"id": "ID", "api": "API", "url": "URL", "oidc": "OIDC", "ca": "CA", "ids": "IDs"}


def label(name: str) -> str:
    """`tenant-id` -> `Tenant ID`: a field's label in the Azure DevOps classic editor."""
    words = [_ACRONYMS.get(word, word) for word in name.split("-")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def field_of(command: Command, name: str) -> FieldInfo:
    for field_name, field in command.inputs.model_fields.items():
        if (field.alias or field_name) == name:
            return field
    raise KeyError(name)


def default_text(command: Command, name: str) -> str | None:
    """The default as the user would write it, or None when the input has none (or is required)."""
    field = field_of(command, name)
    if field.is_required() or field.default is None:
        return None
    value = field.default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        assert value == parse_duration(DEFAULT_TIMEOUT), f"{name}: a duration default other than {DEFAULT_TIMEOUT}"
        return DEFAULT_TIMEOUT
    return str(value)
