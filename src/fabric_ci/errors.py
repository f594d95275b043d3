"""One exception tree for everything that can stop a command, and the exit status of each.

Exit statuses: 2 for input errors (nothing was changed), 1 for everything the service or the
deployment caused, 128 + the signal's number when cancelled (130 for SIGINT, 143 for SIGTERM).
Messages name the cause and, where we know it, the fix.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fabric_ci.models.results import DeployManyResult, DeploymentResult

EXIT_FAILURE = 1
EXIT_INPUT_ERROR = 2


class FabricCiError(Exception):
    """Base of every error fabric-ci reports to a user."""

    exit_code = EXIT_FAILURE
    title = "fabric-ci failed"

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.title


class InputError(FabricCiError):
    """An input is missing, malformed, or names something that does not exist.

    Raised before any change is requested from the service.
    """

    exit_code = EXIT_INPUT_ERROR
    title = "Invalid input"

    def __init__(self, input_name: str, message: str, *, candidates: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.input_name = input_name
        self.candidates = list(candidates)

    @property
    def message(self) -> str:
        text = f"Input '{self.input_name}': {self.args[0]}"
        if self.candidates:
            text += (
                ("" if text.endswith((".", "?", "!")) else ".")
                + " Did you mean: "
                + ", ".join(repr(c) for c in self.candidates)
                + "?"
            )
        return text


class InputErrors(FabricCiError):
    """Several inputs are invalid; each is reported on its own."""

    exit_code = EXIT_INPUT_ERROR
    title = "Invalid input"

    def __init__(self, errors: Sequence[InputError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


class DeploymentRefused(InputErrors):
    """The plan shows the service would refuse the deployment; `result` holds the plan. Found before
    any deploy request, so nothing was changed: an input error's exit status, 2."""

    title = "The deployment would be refused"

    def __init__(self, errors: Sequence[InputError], result: DeploymentResult) -> None:
        super().__init__(errors)
        self.result = result


class AuthenticationError(FabricCiError):
    """Entra ID refused to issue a token."""

    title = "Sign-in failed"


@dataclass
class ErrorDetails:
    """What the service said about a failed request (Fabric error body or Power BI OData error)."""

    status_code: int
    error_code: str = ""
    message: str = ""
    request_id: str = ""
    more_details: list[dict[str, Any]] = field(default_factory=list)
    retry_after: float | None = None


class ApiError(FabricCiError):
    """The API answered with an error status."""

    title = "API request failed"

    def __init__(self, details: ErrorDetails, hint: str = "") -> None:
        self.details = details
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        d = self.details
        text = f"{d.status_code} {d.error_code or 'Error'}: {d.message or 'no message from the service'}"
        for extra in d.more_details:
            code, msg = extra.get("errorCode", ""), extra.get("message", "")
            if code or msg:
                text += f" [{code}: {msg}]"
        if self.hint:
            text += f" {self.hint}"
        if d.request_id:
            text += f" (requestId {d.request_id})"
        return text


class BadRequestError(ApiError):
    """400."""


class UnauthorizedError(ApiError):
    """401 after one token refresh."""


class ForbiddenError(ApiError):
    """403."""


class NotFoundError(ApiError):
    """404."""


class ConflictError(ApiError):
    """409."""


class ThrottledError(ApiError):
    """429 that outlasted the retry budget."""


class ServerError(ApiError):
    """5xx that outlasted the retry budget."""


class ApiConnectionError(FabricCiError):
    """The request never got an answer (DNS, TLS, refused or reset connection, timeout)."""

    title = "Could not reach the API"


class RelationsUnavailable(FabricCiError):
    """Item relations could not be had (the Power BI API has none; the beta API refused or is gone):
    deploy-many's `depends-on: auto` says so and keeps the explicit dependencies."""

    title = "Item relations unavailable"


class DefinitionUnavailable(FabricCiError):
    """An item's definition could not be had (its type has none, the service refused, time ran out):
    the plan says "not comparable" and why, and never guesses."""

    title = "Item definition unavailable"


class DeploymentFailed(FabricCiError):
    """The deployment ended with status Failed."""

    title = "Deployment failed"

    def __init__(self, message: str, result: DeploymentResult) -> None:
        super().__init__(message)
        self.result = result


class WaitTimeout(FabricCiError):
    """The deployment was still running when the timeout expired. It was left running."""

    title = "Timed out waiting for the deployment"

    def __init__(self, message: str, result: DeploymentResult) -> None:
        super().__init__(message)
        self.result = result


class DeploymentOutcomeUnknown(FabricCiError):
    """The deploy request's answer was lost and the deployment could not be found (yet).

    It may still have started: never report "nothing was deployed", never re-send it."""

    title = "Deployment outcome unknown"


class DeploymentRunning(FabricCiError):
    """A change the service refuses while a deployment of the pipeline runs (deleting it) was not
    asked for: the step names the deployment, and neither waits for it nor cancels it."""

    title = "A deployment of the pipeline is running"


class Cancelled(BaseException):  # like KeyboardInterrupt, which it stands in for
    """SIGINT or SIGTERM arrived. A BaseException, so that no `except Exception` swallows it;
    the operations turn it into StepCancelled with what they know."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.signal_name = signal.Signals(signum).name


class StepCancelled(FabricCiError):
    """The step was cancelled. A deployment it started is left running; `result`, when there is
    one, says where it stood. Exits 128 + the signal's number, as shells report it (130, 143)."""

    title = "Cancelled"

    def __init__(self, message: str, cancelled: Cancelled, result: DeploymentResult | None = None) -> None:
        super().__init__(message)
        self.exit_code = 128 + cancelled.signum
        self.result = result


class DeployManyFailed(FabricCiError):
    """deploy-many: not every entry succeeded. `result` holds every entry's outcome."""

    title = "Not every deployment succeeded"

    def __init__(self, message: str, result: DeployManyResult) -> None:
        super().__init__(message)
        self.result = result
