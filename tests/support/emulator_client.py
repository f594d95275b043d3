"""A small httpx client for tests that talk to an `Emulator` directly: token, calls, LRO polling."""

from __future__ import annotations

import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import CLIENT_ID, CLIENT_SECRET, FABRIC_SCOPE, POWERBI_SCOPE, TENANT_ID
from tests.support.fabric_spec import validate_response


def body_of(response: httpx.Response) -> Any:
    return response.json() if response.content else None


class EmulatorClient:
    """Calls one of the emulator's APIs: relative paths go under /v1 (api="fabric") or /v1.0/myorg ("powerbi")."""

    def __init__(self, emulator: Emulator, api: str = "fabric") -> None:
        self.emulator = emulator
        self.scope = POWERBI_SCOPE if api == "powerbi" else FABRIC_SCOPE
        self.base_url = emulator.powerbi_base_url if api == "powerbi" else emulator.api_base_url
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=emulator.ca_path), timeout=10)
        self.token = self.fetch_token()

    def close(self) -> None:
        self.http.close()

    def fetch_token(self) -> str:
        response = self.http.post(
            f"{self.emulator.authority_host}/{TENANT_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": self.scope,
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def url(self, path: str) -> str:
        """`path` under the API's base (e.g. "/deploymentPipelines"), or an absolute URL as given."""
        return path if path.startswith("https://") else f"{self.base_url}{path}"

    def call(
        self, method: str, path: str, json: Any = None, *, auth: bool = True, token: str | None = None
    ) -> httpx.Response:
        """One request, with the client's bearer token (or `token`), or none when auth is False."""
        headers = {}
        if auth:
            headers["Authorization"] = f"Bearer {token or self.token}"
        return self.http.request(method, self.url(path), json=json, headers=headers)

    def checked(self, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        """Call and validate the response against the spec."""
        response = self.call(method, path, json, **kwargs)
        target = urlsplit(str(response.request.url))
        validate_response(method, target.path, response.status_code, body_of(response), dict(response.headers))
        return response

    def all_pages(self, path: str) -> tuple[list[Any], int]:
        """Every value of a paged list, following continuationUri from the body; (values, pages)."""
        values: list[Any] = []
        pages = 0
        url: str | None = path
        while url is not None:
            response = self.checked("GET", url)
            assert response.status_code == 200, response.text
            body = response.json()
            values += body["value"]
            pages += 1
            url = body.get("continuationUri")
            assert ("continuationToken" in body) == (url is not None)
        return values, pages

    def wait(self, lro_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Poll the operation state until it is terminal; every state seen, validated."""
        return self.poll(f"/operations/{lro_id}", timeout)

    def poll(self, path: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """GET `path` until its status is terminal; every view seen, validated."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view = self.checked("GET", path).json()
            seen.append(view)
            if view["status"] in ("Succeeded", "Failed"):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"{path} still {seen[-1]['status']} after {timeout}s")
