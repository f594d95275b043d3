"""Item definitions (`POST /v1/workspaces/{id}/items/{id}/getDefinition`), as a long-running operation.

A definition is made from what the emulator knows of an item: its type, name and content version,
and, like the service's, ids a deployment rebinds: the workspace's id, the item's own logicalId in
its `.platform` file (different in every stage), and for a report the id of the semantic model of
the same name in its workspace. Two paired items whose versions match have definitions that differ
only in those ids; a deployment of a newer version makes them differ for real. So plan-compare sees
"unchanged" exactly where a deployment would report NoDifference, and only if it normalises the ids.

Which item types have a definition: DEFINITION_TYPES, from Microsoft's list (kept apart from the
client's list of types without one, models/apis.py, so that a test can find the two disagree); any
other type is refused as the service refuses it, 400 OperationNotSupportedForItem.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from fabric_ci.emulator import seed

# Microsoft's "Item definition overview" lists these as having a definition (of the types the emulator seeds).
DEFINITION_TYPES = frozenset({"DataPipeline", "Environment", "Lakehouse", "Notebook", "Report", "SemanticModel"})

# What each type's definition holds besides `.platform`: (path, a template of the part's content).
_PARTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Report": (
        (
            "definition.pbir",
            '{{"version": "4.0", "datasetReference": {{"byConnection": {{"connectionString": '
            '"semanticmodelid={model}", "workspaceId": "{workspace}"}}}}}}',
        ),
        ("report.json", '{{"name": "{name}", "contentVersion": {version}}}'),
    ),
    "SemanticModel": (
        ("definition.pbism", '{{"version": "4.0"}}'),
        ("model.bim", '{{"name": "{name}", "compatibilityLevel": 1604, "contentVersion": {version}}}'),
    ),
    "Notebook": (
        (
            "notebook-content.py",
            '# Fabric notebook source\n# META {{"lakehouse": "{workspace}"}}\n'
            '# CELL\nprint("{name}, content version {version}")\n',
        ),
    ),
}
_DEFAULT_PARTS = (("content.json", '{{"name": "{name}", "workspaceId": "{workspace}", "contentVersion": {version}}}'),)


@dataclass(frozen=True)
class DefinitionOperation:
    """A getDefinition request: its long-running operation, and the definition as it was asked for."""

    lro_id: str
    accepted_at: float
    ready_at: float
    parts: tuple[dict[str, str], ...]

    def status_at(self, now: float) -> str:
        if now >= self.ready_at:
            return "Succeeded"
        return "Running" if now >= self.accepted_at + (self.ready_at - self.accepted_at) / 10 else "NotStarted"

    def percent_complete_at(self, now: float) -> int:
        span = max(self.ready_at - self.accepted_at, 1e-9)
        return min(100, int(100 * (now - self.accepted_at) / span))

    def result(self) -> dict[str, Any]:
        return {"definition": {"parts": list(self.parts)}}


def definition_parts(
    item_id: str, item_type: str, name: str, version: int, workspace_id: str, model_id: str | None
) -> tuple[dict[str, str], ...]:
    """The definition's parts, each `{path, payload (base64), payloadType: InlineBase64}`."""
    values = {
        "name": name,
        "version": version,
        "workspace": workspace_id,
        "model": model_id or "00000000-0000-0000-0000-000000000000",
    }
    texts = [(path, template.format(**values)) for path, template in _PARTS.get(item_type, _DEFAULT_PARTS)]
    platform = {
        "$schema": "https://developer.microsoft.com/json-schemas/fabric/gitIntegration/platformProperties/2.0.0/schema.json",
        "metadata": {"type": item_type, "displayName": name},
        "config": {"version": "2.0", "logicalId": seed.stable_id("logicalId", item_id)},
    }
    texts.append((".platform", json.dumps(platform, indent=2)))
    return tuple(
        {"path": path, "payload": base64.b64encode(text.encode()).decode(), "payloadType": "InlineBase64"}
        for path, text in texts
    )
