"""FabricClient's relations/upstream (beta): the related items, and any refusal as RelationsUnavailable."""

from __future__ import annotations

import httpx
import pytest
import respx

from fabric_ci.api.fabric import FabricClient
from fabric_ci.errors import RelationsUnavailable

WS, ITEM, MODEL = (
    "6e335e92-a2a2-4b5a-970a-bd6a89fbb765",
    "cfafbeb1-8037-4d0c-896e-a46fb27ff229",
    "0acd697c-1111-4c2b-8b2e-3a2e1d4f5a6b",
)
UPSTREAM = f"/workspaces/{WS}/items/{ITEM}/relations/upstream"


def test_upstream_items_are_read_with_beta_true(api: respx.MockRouter, client: FabricClient) -> None:
    """The required beta=true is sent; the answer's items come back typed, unknown fields ignored."""
    body = {
        "items": [{"id": MODEL, "type": "SemanticModel", "displayName": "Revenue Model", "workspaceId": WS, "x": 1}],
        "relations": [{"itemId": ITEM, "dependentOnItemId": MODEL, "relationType": "WeakAssociation"}],
        "workspaces": [{"id": WS, "displayName": "Shared Models [Development]"}],
    }
    route = api.get(UPSTREAM, params={"beta": "true"}).mock(return_value=httpx.Response(200, json=body))
    [item] = client.upstream_relations(WS, ITEM)
    assert (item.id, item.type, item.display_name, item.workspace_id) == (MODEL, "SemanticModel", "Revenue Model", WS)
    assert route.call_count == 1


@pytest.mark.parametrize("status", [403, 404])
def test_a_refusal_is_unavailable_not_a_failed_step(api: respx.MockRouter, client: FabricClient, status: int) -> None:
    """403 or 404 from the beta API is RelationsUnavailable, carrying the service's message."""
    api.get(UPSTREAM).mock(
        return_value=httpx.Response(status, json={"errorCode": "ItemNotFound", "message": "The item was not found."})
    )
    with pytest.raises(RelationsUnavailable, match="not found"):
        client.upstream_relations(WS, ITEM)
