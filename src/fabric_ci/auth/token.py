"""Access tokens from Entra ID through msal, whatever the sign-in method, with msal's cache.

`TokenProvider` is what the transport asks for a token. Behind it, one small adapter per kind
of msal application (`Acquirer`): a confidential client (client secret, certificate, or a
federated assertion from the CI system), a managed identity, or a public client for
username/password. Each returns msal's result dict; the provider turns refusals into
AuthenticationErrors that name the cause and the fix.

msal talks HTTP through our httpx client (see `MsalHttpClient`), so token requests use the
same TLS context and the same retry policy (429, 5xx, connection errors) as API calls. msal's
default `requests` session would let REQUESTS_CA_BUNDLE override an explicit CA, which breaks
the `ca-bundle` input.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
import warnings
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import msal

from fabric_ci.api.errors import connection_failure
from fabric_ci.api.retry import Retries, RetryPolicy
from fabric_ci.auth.federated import unverified_claims
from fabric_ci.errors import AuthenticationError, FabricCiError

# msal logs some failures with tracebacks and response bodies (logger.exception); with no logging
# configured, Python would print them to stderr past the runners' redaction. Our errors say it.
logging.getLogger("msal").addHandler(logging.NullHandler())

# Authority hosts msal knows; any other host (an alias, the emulator) must not trigger instance
# discovery, which would call login.microsoftonline.com first.
KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
        "login.chinacloudapi.cn",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
    }
)

_FEDERATED_FIX = "No federated credential on the app registration matches the CI system's token."
_MFA = (
    "The account must use multi-factor authentication, which username/password sign-in cannot do. Sign in as a "
    "service principal instead: auth: oidc (no secret at all), certificate or managed-identity."
)
# AADSTS codes users hit most, with the fix. Matched against the code at the start of error_description.
AADSTS_HINTS = {
    "AADSTS7000215": "The client secret is wrong. Check `client-secret` against the app registration "
    "(the secret's value, not its id).",
    "AADSTS7000222": "The client secret has expired. Create a new one in the app registration.",
    "AADSTS700016": "No app with this `client-id` exists in the tenant. Check `client-id` and `tenant-id`.",
    "AADSTS90002": "The tenant was not found. Check `tenant-id` (a GUID or a verified domain) and `cloud`.",
    "AADSTS900023": "The tenant id is malformed. Check `tenant-id`.",
    "AADSTS700027": "The certificate is not registered on the app registration, or the assertion's signature "
    "does not verify. Upload the certificate (its public part) to the app registration, or set "
    "`client-certificate-send-chain: true` if the app trusts it by subject name and issuer.",
    "AADSTS700024": "The client assertion has expired or is not valid yet: check the machine's clock.",
    "AADSTS700211": _FEDERATED_FIX + " The issuer does not match.",
    "AADSTS700212": _FEDERATED_FIX + " The audience does not match (see `oidc-audience`).",
    "AADSTS700213": _FEDERATED_FIX + " The subject does not match.",
    "AADSTS70021": _FEDERATED_FIX,
    "AADSTS70025": "The app registration has no federated credentials: add one for this CI system.",
    "AADSTS50126": "The username or password is wrong.",
    "AADSTS50034": "No such user in this tenant. Check `username` and `tenant-id`.",
    "AADSTS50076": _MFA,
    "AADSTS50079": _MFA,
    "AADSTS50158": _MFA,
    "AADSTS53003": "Conditional Access blocked the sign-in. Ask the tenant's admins to exclude this principal "
    "or location, or use a service principal.",
    "AADSTS7000218": "The app registration does not allow public client flows, which username/password sign-in "
    "needs. Enable 'Allow public client flows' on the app, or better, use auth: oidc.",
    "AADSTS65001": "The app has not been granted consent for this API. An admin must grant it.",
    "AADSTS1002012": "The scope is not valid. Check `scope`: the API's resource followed by /.default.",
    "AADSTS500011": "The resource in `scope` does not exist in this tenant or cloud. Check `scope` and `cloud`.",
}
_MANAGED_IDENTITY_HINTS = {
    "identity not found": "No managed identity with this `client-id` is assigned to this machine. Check "
    "`client-id` (a user-assigned identity's client id), or leave it empty for the system-assigned identity.",
}


class MsalHttpClient:
    """msal's HttpClient interface (`post`, `get`), served by our httpx client and retry policy."""

    def __init__(self, client: httpx.Client, retries: Retries, timeout: httpx.Timeout | None = None) -> None:
        self._client = client
        self._retries = retries
        self._default_timeout = timeout
        self.last_response: httpx.Response | None = None  # to explain msal's bare errors

    def _timeout(self, kwargs: dict[str, Any]) -> Any:
        # msal passes no timeout; httpx reads timeout=None as "never time out", so fall back to
        # ours, or the client's own.
        return kwargs.get("timeout") or self._default_timeout or httpx.USE_CLIENT_DEFAULT

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            # msal passes a signed client assertion as bytes; requests sends bytes as they are,
            # httpx would send their repr ("b'eyJ...'"), which Entra refuses as malformed.
            data = {key: value.decode() if isinstance(value, bytes) else value for key, value in data.items()}
        self.last_response = self._retries.send(
            f"POST {url}",
            lambda: self._client.post(url, params=params, data=data, headers=headers, timeout=self._timeout(kwargs)),
        )
        return self.last_response

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        self.last_response = self._retries.send(
            f"GET {url}",
            lambda: self._client.get(url, params=params, headers=headers, timeout=self._timeout(kwargs)),
        )
        return self.last_response

    def close(self) -> None:  # msal may call it; the client belongs to the transport
        pass


class Acquirer(Protocol):
    endpoint: str  # where tokens come from, for messages
    endpoint_input: str | None  # the input that sets it, named when it cannot be reached

    def acquire(self, *, refresh: bool) -> dict[str, Any]:
        """msal's result: `access_token`, or `error` and `error_description`."""

    def context(self, code: str) -> str:
        """What the caller knows that explains a refusal with this AADSTS code ("" if nothing)."""


def _authority_settings(authority_host: str, tenant_id: str, http: httpx.Client, retries: Retries) -> dict[str, Any]:
    return {
        "authority": f"{authority_host}/{tenant_id}",
        "instance_discovery": urlsplit(authority_host).hostname in KNOWN_AUTHORITY_HOSTS,
        "http_client": MsalHttpClient(http, retries),
    }


def _discovery_failed(tenant_id: str, exc: ValueError, http: MsalHttpClient) -> AuthenticationError:
    # msal reads the tenant's discovery document when the app is created; a missing or
    # unusable one comes back as a ValueError, whatever the cause: only the answer tells an
    # outage (5xx, 429 after our retries) from a tenant that does not exist.
    last = http.last_response
    if last is not None and (last.status_code >= 500 or last.status_code == 429):
        return AuthenticationError(
            f"Entra ID could not give the sign-in endpoint of tenant {tenant_id!r}: it answered "
            f"{last.status_code} after fabric-ci's retries; it seems unavailable. Re-run the job later."
        )
    return AuthenticationError(
        f"Entra ID has no usable sign-in endpoint for tenant {tenant_id!r} ({exc}). {AADSTS_HINTS['AADSTS90002']}"
    )


class ConfidentialClient:
    """A service principal: `credential` is a secret, msal's certificate dict, or
    {"client_assertion": callable} for a federated assertion."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: str | dict[str, Any],
        authority_host: str,
        scope: str,
        http: httpx.Client,
        retries: Retries | None = None,
        context: Callable[[str], str] = lambda _code: "",
    ) -> None:
        self.endpoint = f"Entra ID ({authority_host})"
        self.endpoint_input: str | None = "authority-host"
        self.context = context
        self._tenant_id = tenant_id
        self._scope = scope
        self._settings = {
            "client_id": client_id,
            "client_credential": credential,
            **_authority_settings(authority_host, tenant_id, http, retries or Retries()),
        }
        self._app: msal.ConfidentialClientApplication | None = None

    def acquire(self, *, refresh: bool) -> dict[str, Any]:
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(**self._settings)
            except ValueError as exc:
                raise _discovery_failed(self._tenant_id, exc, self._settings["http_client"]) from exc
        if refresh:
            self._app.remove_tokens_for_client()
        return dict(self._app.acquire_token_for_client(scopes=[self._scope]))


class ManagedIdentity:
    """The machine's managed identity (Azure VM and scale-set agents, App Service, Arc, ...): msal
    finds the endpoint from the environment (IMDS by default)."""

    # Off Azure, the IMDS address does not answer; do not spend ten minutes finding that out.
    # (IMDS answers within milliseconds where it exists.)
    POLICY = RetryPolicy(attempts=4, total_seconds=20.0)
    TIMEOUT = httpx.Timeout(30.0, connect=3.0)

    def __init__(
        self, *, client_id: str | None, scope: str, http: httpx.Client, retries: Retries | None = None
    ) -> None:
        self.endpoint = "the managed identity endpoint (IMDS at 169.254.169.254 on an Azure VM)"
        self.endpoint_input: str | None = None  # found from the environment, not from an input
        self._identity = (
            msal.UserAssignedManagedIdentity(client_id=client_id) if client_id else msal.SystemAssignedManagedIdentity()
        )
        self._resource = scope.removesuffix("/.default")  # managed identity endpoints take a resource
        self._http = http
        self._retries = (retries or Retries()).with_policy(self.POLICY)
        self._client: msal.ManagedIdentityClient | None = None

    def acquire(self, *, refresh: bool) -> dict[str, Any]:
        if self._client is None or refresh:  # a new client has an empty cache
            self._client = msal.ManagedIdentityClient(
                self._identity,
                http_client=MsalHttpClient(self._http, self._retries, self.TIMEOUT),
                token_cache=msal.TokenCache(),
            )
        return dict(self._client.acquire_token_for_client(resource=self._resource))

    def context(self, code: str) -> str:
        return ""


class UsernamePassword:
    """A user's name and password (ROPC) through a public client app: no MFA, kept for parity."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        username: str,
        password: str,
        authority_host: str,
        scope: str,
        http: httpx.Client,
        retries: Retries | None = None,
    ) -> None:
        self.endpoint = f"Entra ID ({authority_host})"
        self.endpoint_input: str | None = "authority-host"
        self._tenant_id = tenant_id
        self._username = username
        self._password = password
        self._scope = scope
        self._settings = {
            "client_id": client_id,
            **_authority_settings(authority_host, tenant_id, http, retries or Retries()),
        }
        self._app: msal.PublicClientApplication | None = None

    def acquire(self, *, refresh: bool) -> dict[str, Any]:
        try:
            if self._app is None:
                self._skip_user_realm_discovery_off_microsoft_hosts()
                self._app = msal.PublicClientApplication(**self._settings)
            accounts = self._app.get_accounts(username=self._username)
            if refresh:
                for account in accounts:
                    self._app.remove_account(account)
            elif accounts:  # a public client's cache is per account: look there first
                cached = self._app.acquire_token_silent([self._scope], account=accounts[0])
                if cached and "access_token" in cached:
                    return dict(cached)
            with warnings.catch_warnings():
                # msal deprecates ROPC with a DeprecationWarning; the user gets our own warning instead.
                warnings.simplefilter("ignore", DeprecationWarning)
                return dict(self._app.acquire_token_by_username_password(self._username, self._password, [self._scope]))
        except ValueError as exc:
            raise _discovery_failed(self._tenant_id, exc, self._settings["http_client"]) from exc

    def context(self, code: str) -> str:
        return ""

    def _skip_user_realm_discovery_off_microsoft_hosts(self) -> None:
        # msal quirk (1.39): before a username/password sign-in it asks
        # https://{host}/common/userrealm/{user} whether the user is federated (ADFS), and builds that
        # URL from the authority's host name alone, dropping any port: against an authority such as
        # https://127.0.0.1:8443 (the emulator) it calls port 443. Only Microsoft's hosts know about
        # federated realms, so for other hosts the lookup is skipped the way msal itself skips a
        # host that once answered 404: by listing it in the class-level set msal keeps for that.
        host = urlsplit(str(self._settings["authority"])).hostname or ""
        skipped = getattr(msal.authority.Authority, "_domains_without_user_realm_discovery", None)
        if host not in KNOWN_AUTHORITY_HOSTS and isinstance(skipped, set):
            skipped.add(host)


def _unreachable(acquirer: Acquirer, exc: httpx.HTTPError) -> str:
    """Why the token endpoint could not be reached, naming the input that set it, if one did."""
    try:
        url = str(exc.request.url.copy_with(query=None))
    except RuntimeError:  # an error raised before any request was built
        url = None
    if url is None or acquirer.endpoint_input is None:
        return f"Could not reach {acquirer.endpoint}: {exc}"
    return connection_failure(exc, url, acquirer.endpoint_input)


def token_principal(token: str) -> str | None:
    """The object id of the principal an Entra access token was issued to (its `oid` claim), or None.

    Read without verifying the token: the API verifies it; here it only tells fabric-ci who it is
    (add-user must not lock that principal out of a workspace)."""
    oid = unverified_claims(token).get("oid")
    try:
        return str(uuid.UUID(oid)) if isinstance(oid, str) else None
    except ValueError:
        return None


class TokenProvider:
    """Access tokens for one scope; each new token is reported (masked) once."""

    def __init__(self, acquirer: Acquirer, on_token: Callable[[str], None] = lambda _token: None) -> None:
        self._acquirer = acquirer
        self._on_token = on_token
        self._last_token = ""
        # deploy-many's entries ask from several threads: one sign-in at a time, so a token is
        # acquired once and masked before any thread can use it.
        self._lock = threading.Lock()

    def token(self, *, refresh: bool = False, rejected: str | None = None) -> str:
        """`refresh`: sign in again, for the token `rejected` that a 401 refused. Reads side by side
        meet one expiry together: once one has replaced that token, the others get its successor
        rather than each signing in again."""
        with self._lock:
            if refresh and rejected is not None and self._last_token and rejected != self._last_token:
                return self._last_token
            return self._token(refresh=refresh)

    def _token(self, *, refresh: bool) -> str:
        try:
            result = self._acquirer.acquire(refresh=refresh)
        except FabricCiError:
            raise
        except httpx.HTTPError as exc:
            raise AuthenticationError(_unreachable(self._acquirer, exc)) from exc
        except msal.exceptions.MsalServiceError as exc:  # msal raises on a 5xx (after our retries)
            raise AuthenticationError(
                f"{self._acquirer.endpoint} could not issue a token ({exc}); it seems unavailable. "
                "Re-run the job later."
            ) from exc
        except json.JSONDecodeError as exc:
            raise AuthenticationError(
                f"{self._acquirer.endpoint} answered with something other than JSON: check `authority-host`, and "
                "any proxy between this machine and it."
            ) from exc
        except ValueError as exc:  # msal.ManagedIdentityError and the like
            raise AuthenticationError(f"{self._acquirer.endpoint} gave no token: {exc}") from exc
        if "access_token" not in result:
            raise AuthenticationError(self._describe(result))
        token = str(result["access_token"])
        if token != self._last_token:  # msal serves cached tokens: announce each new one once
            self._last_token = token
            self._on_token(token)
        return token

    def _describe(self, result: dict[str, Any]) -> str:
        description = str(result.get("error_description", "")).strip()
        first_line = description.splitlines()[0] if description else ""
        code = first_line.split(":", 1)[0]
        hint = AADSTS_HINTS.get(code, "")
        if not hint:
            hint = next((h for key, h in _MANAGED_IDENTITY_HINTS.items() if key in first_line.lower()), "")
        text = f"Entra ID refused the sign-in: {result.get('error', 'unknown_error')}"
        if first_line:
            text += f": {first_line}"
        return " ".join(part for part in (text, hint, self._acquirer.context(code)) if part)
