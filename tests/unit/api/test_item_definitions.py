"""FabricClient's getDefinition: the direct 200, the long-running operation, and answers that hold no definition."""

from __future__ import annotations

import base64

import httpx
import pytest
import respx

from fabric_ci.api.fabric import FabricClient
from fabric_ci.errors import DefinitionUnavailable

WS, ITEM, OP = (
    "6e335e92-a2a2-4b5a-970a-bd6a89fbb765",
    "cfafbeb1-8037-4d0c-896e-a46fb27ff229",
    "0acd697c-1111-4c2b-8b2e-3a2e1d4f5a6b",
)
GET_DEFINITION = f"/workspaces/{WS}/items/{ITEM}/getDefinition"
PART = {"path": "report.json", "payload": base64.b64encode(b"{}").decode(), "payloadType": "InlineBase64"}


def test_a_200_is_the_definition_itself(api: respx.MockRouter, client: FabricClient) -> None:
    route = api.post(GET_DEFINITION).mock(return_value=httpx.Response(200, json={"definition": {"parts": [PART]}}))
    fetched = client.start_item_definition(WS, ITEM, time_left=60)
    assert fetched.definition is not None
    assert [p.path for p in fetched.definition.parts] == ["report.json"]
    assert (route.call_count, client.requests_sent()) == (1, 1)


def test_a_202_is_polled_as_its_retry_after_asks_then_read_from_result(
    api: respx.MockRouter, client: FabricClient
) -> None:
    api.post(GET_DEFINITION).mock(
        return_value=httpx.Response(202, headers={"x-ms-operation-id": OP, "Retry-After": "20", "Location": "x"})
    )
    started = client.start_item_definition(WS, ITEM, time_left=60)
    assert (started.operation_id, started.retry_after, started.definition) == (OP, 20.0, None)
    api.get(f"/operations/{OP}").mock(
        side_effect=[
            httpx.Response(200, json={"status": "Running"}, headers={"Retry-After": "0"}),
            httpx.Response(200, json={"status": "Succeeded"}),
        ]
    )
    api.get(f"/operations/{OP}/result").mock(return_value=httpx.Response(200, json={"definition": {"parts": [PART]}}))
    running = client.poll_item_definition(OP, time_left=60)
    assert running.definition is None
    assert running.retry_after == 1.0  # Retry-After: 0 is no reason for a tight loop
    done = client.poll_item_definition(OP, time_left=60)
    assert done.definition is not None
    assert client.requests_sent() == 4  # the POST, two state reads, the result


@pytest.mark.parametrize(
    ("state", "result", "expected"),
    [
        ({"status": "Failed", "error": {"errorCode": "ItemNotFound", "message": "gone"}}, None, "ItemNotFound: gone"),
        ({"status": "Succeeded"}, {}, "held no item definition"),
        ({"status": "Succeeded"}, {"definition": {"parts": []}}, "held no item definition"),
        ("not json", None, "no operation state"),
    ],
)
def test_a_failed_or_empty_answer_is_unavailable_never_an_empty_definition(
    api: respx.MockRouter, client: FabricClient, state: object, result: object, expected: str
) -> None:
    """Two empty definitions would compare equal: an answer without one is no definition."""
    body = {"json": state} if isinstance(state, dict) else {"text": str(state)}
    api.get(f"/operations/{OP}").mock(return_value=httpx.Response(200, **body))  # type: ignore[arg-type]
    api.get(f"/operations/{OP}/result").mock(return_value=httpx.Response(200, json=result))
    with pytest.raises(DefinitionUnavailable, match=expected):
        client.poll_item_definition(OP, time_left=60)


def test_an_item_type_without_a_definition_is_unavailable_with_the_services_words(
    api: respx.MockRouter, client: FabricClient
) -> None:
    api.post(GET_DEFINITION).mock(
        return_value=httpx.Response(
            400,
            json={
                "errorCode": "OperationNotSupportedForItem",
                "message": "Operation not supported for requested item.",
            },
        )
    )
    with pytest.raises(DefinitionUnavailable, match="OperationNotSupportedForItem"):
        client.start_item_definition(WS, ITEM, time_left=60)
