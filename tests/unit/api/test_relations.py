"""FabricClient's relations/upstream (beta): the related items, and any refusal as RelationsUnavailable."""

from __future__ import annotations

import httpx
import pytest
import respx

from fabric_ci.api.fabric import FabricClient
from fabric_ci.errors import ForbiddenError, NotFoundError, RelationsUnavailable

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


@pytest.mark.parametrize(("status", "code"), [(400, "InvalidParameter"), (404, "EntityNotFound")])
def test_the_api_missing_is_unavailable(api: respx.MockRouter, client: FabricClient, status: int, code: str) -> None:
    """A 400 (no beta any more) or a 404 that is not about the item: the beta API is not there."""
    api.get(UPSTREAM).mock(return_value=httpx.Response(status, json={"errorCode": code, "message": "No such API."}))
    with pytest.raises(RelationsUnavailable, match="No such API"):
        client.upstream_relations(WS, ITEM)


@pytest.mark.parametrize(
    ("status", "code", "raised"),
    [(404, "ItemNotFound", NotFoundError), (403, "InsufficientPrivileges", ForbiddenError)],
)
def test_any_other_refusal_is_an_error(
    api: respx.MockRouter, client: FabricClient, status: int, code: str, raised: type[Exception]
) -> None:
    """An item not found or a caller refused is no reason to drop the inferred order: the step fails."""
    api.get(UPSTREAM).mock(return_value=httpx.Response(status, json={"errorCode": code, "message": "no"}))
    with pytest.raises(raised):
        client.upstream_relations(WS, ITEM)
