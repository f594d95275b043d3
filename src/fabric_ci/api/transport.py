"""The one place requests are sent: bearer auth, retries, and error mapping.

Retries follow `retry.py` (the policy token requests share). A request that is not safe to
replay (the deploy POST) is re-sent only when the service cannot have acted on it; anything
else that leaves its fate unknown is raised as `AmbiguousResponse` for the caller to reconcile.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any, Protocol

import httpx

from fabric_ci.api.errors import api_error, connection_failure
from fabric_ci.api.retry import Retries, worth_retrying
from fabric_ci.clock import Clock
from fabric_ci.errors import ApiConnectionError, ErrorDetails, FabricCiError, ServerError

USER_AGENT = "fabric-ci"


class TokenSource(Protocol):
    def token(self, *, refresh: bool = False, rejected: str | None = None) -> str: ...


class AmbiguousResponse(FabricCiError):
    """A non-replayable request may or may not have been acted on (5xx, or the connection broke
    after the request was sent). The caller must find out before doing anything else."""

    title = "The service's answer was lost"

    def __init__(self, message: str, cause: Exception | httpx.Response) -> None:
        super().__init__(message)
        self.cause = cause


class BearerAuth(httpx.Auth):
    """Adds the token only for the API's own origin (and the token resource's hosts, where the
    Power BI API redirects), and refreshes it once on a 401."""

    def __init__(self, tokens: TokenSource, api_base_url: str, redirect_domains: tuple[str, ...] = ()) -> None:
        self._tokens = tokens
        self._origin = _origin(httpx.URL(api_base_url))
        self._redirect_domains = tuple(d.lower() for d in redirect_domains)

    def token(self) -> str:
        return self._tokens.token()

    def trusts(self, url: httpx.URL) -> bool:
        if _origin(url) == self._origin:
            return True
        host = url.host.lower()
        # https on its default port only: a redirect may not downgrade or change the port.
        in_domain = any(host == d or host.endswith(f".{d}") for d in self._redirect_domains)
        return url.scheme == "https" and url.port is None and in_domain

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self.trusts(request.url):
            yield request  # never hand our token to another host (a redirect, a Location header)
            return
        sent = self._tokens.token()
        request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self._tokens.token(refresh=True, rejected=sent)}"
            yield request


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    # httpx drops a default port (":443" -> None), so both sides go through the same parser.
    return (url.scheme, url.host, url.port)


# The API now and then answers 401 TokenExpired to a token just issued; the auth flow refreshes
# once per request, and a request refused like that (not acted on, even a deploy) gets this many
# more tries, each with a fresh token. Any other 401 is final.
EXTRA_TOKEN_REFRESHES = 2


def _token_expired(response: httpx.Response) -> bool:
    """A 401 whose body (Fabric's, or Power BI's OData) says TokenExpired. Any other body,
    a gateway's included, is not."""
    if response.status_code != 401:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    odata = body.get("error")
    return body.get("errorCode") == "TokenExpired" or (isinstance(odata, dict) and odata.get("code") == "TokenExpired")


# The Power BI API may answer 307 to send a request to another cluster; it is followed with the
# same method and body (a 307/308 means the request was not acted on), a few hops at most.
REDIRECT_STATUSES = frozenset({307, 308})
MAX_REDIRECTS = 5


class Transport:
    """Sends requests to one API base URL and returns successful responses.

    `redirect_domains`: hosts (with their subdomains) a 307 may send a request, and the token, to:
    the token resource's own domain (e.g. analysis.windows.net for the Power BI API).
    `base_url_input`: the input that set the base URL, named when it cannot be reached."""

    def __init__(
        self,
        http: httpx.Client,
        api_base_url: str,
        tokens: TokenSource,
        retries: Retries | None = None,
        redirect_domains: tuple[str, ...] = (),
        *,
        base_url_input: str = "api-base-url",
    ) -> None:
        self.base_url = api_base_url.rstrip("/")
        self._http = http
        self._auth = BearerAuth(tokens, self.base_url, redirect_domains)
        self._retries = retries or Retries()
        self._base_url_input = base_url_input
        self.requests_sent = 0  # every HTTP request, retries included (plan-compare reports its count)

    @property
    def clock(self) -> Clock:
        return self._retries.clock

    def access_token(self) -> str:
        """The token requests carry now (signing in first if need be)."""
        return self._auth.token()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        replay_safe: bool = True,
        time_left: float | None = None,
    ) -> httpx.Response:
        """Send a request, retrying what is safe to retry.

        `time_left` bounds the retries (a caller's own deadline, e.g. a wait's timeout) on top
        of the policy's total time: a retry that would wait past it is not made.
        """
        url = httpx.URL(self.url(path))
        clock = self._retries.clock
        # One deadline for the whole request: redirects and fresh-token re-sends spend the same time.
        deadline = None if time_left is None else clock.now() + time_left

        def left() -> float | None:
            return None if deadline is None else deadline - clock.now()

        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, params, json, replay_safe, left())
            for _ in range(EXTRA_TOKEN_REFRESHES):
                if not _token_expired(response):
                    break
                response = self._send(method, url, params, json, replay_safe, left())
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                break
            url = url.join(location)
            params = None  # the Location carries the query
            if not self._auth.trusts(url):
                raise ApiConnectionError(
                    f"{method} {self.url(path)} was redirected to {url.scheme}://{url.host}, which is neither the "
                    "API's host nor the token's resource: not followed, so the token is not sent there."
                )
        if worth_retrying(response, replay_safe=replay_safe):  # the retries ran out
            raise api_error(response)
        if response.is_success:
            return response
        if not replay_safe and response.status_code >= 500:
            # It may have acted on the request before failing: the caller must find out.
            error = api_error(response)
            raise AmbiguousResponse(f"{method} {self.url(path)} was answered {error.message}", response)
        raise api_error(response)

    def _send(
        self,
        method: str,
        url: httpx.URL,
        params: Mapping[str, str] | None,
        json: Any,
        replay_safe: bool,
        time_left: float | None,
    ) -> httpx.Response:
        clock = self._retries.clock

        def send() -> httpx.Response:
            # A request may not outlive the caller's deadline either (but gets a second to answer).
            timeout: httpx.Timeout | Any = httpx.USE_CLIENT_DEFAULT
            if time_left is not None:
                left = max(time_left - (clock.now() - started), 1.0)
                timeout = httpx.Timeout(min(left, 60.0), connect=min(left, 15.0))
            self.requests_sent += 1
            return self._http.request(method, url, params=params, json=json, auth=self._auth, timeout=timeout)

        started = clock.now()
        try:
            return self._retries.send(
                f"{method} {url.copy_with(query=None)}", send, replay_safe=replay_safe, time_left=time_left
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiConnectionError(connection_failure(exc, self.base_url, self._base_url_input)) from exc
        except httpx.PoolTimeout as exc:  # never sent, a deploy request neither: not an ambiguous answer
            raise ApiConnectionError(
                f"{method} {url.copy_with(query=None)} was not sent: no connection to {self.base_url} came free "
                "in time (every one held by a request that did not answer)"
            ) from exc
        except httpx.TransportError as exc:
            if not replay_safe:
                raise AmbiguousResponse(
                    f"The connection to {self.base_url} failed after {method} {url.path} was sent "
                    f"({str(exc) or type(exc).__name__})",
                    exc,
                ) from exc
            raise ApiConnectionError(f"{method} {url} failed: {exc}") from exc

    def get_json(self, path: str, params: Mapping[str, str] | None = None, time_left: float | None = None) -> Any:
        response = self.request("GET", path, params=params, time_left=time_left)
        try:
            return response.json()
        except ValueError:  # a proxy's or gateway's page in place of the API's answer
            raise ServerError(
                ErrorDetails(
                    response.status_code,
                    "UnreadableAnswer",
                    f"GET {path} was answered with something other than JSON (a proxy or gateway in between?)",
                )
            ) from None
