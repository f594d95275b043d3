"""The narrow channel through which an operation tells the runner what is happening.

Runners implement it; operations only call it. Everything an operation wants a person to
see goes through here, so operations stay free of printing and of runner formats.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from fabric_ci.models.results import Progress, Result


class Reporter(Protocol):
    def phase(self, title: str) -> AbstractContextManager[None]:
        """A long phase (resolving names, waiting); GitHub folds it into a group."""

    def info(self, message: str) -> None: ...

    def debug(self, message: str) -> None: ...

    def notice(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def mask(self, secret: str) -> None:
        """A value that must never appear in a log (tokens as soon as they exist)."""

    def deployment_accepted(self, operation_id: str) -> None:
        """The service accepted a deployment: publish its id at once, so a later step can
        wait for it even if this step times out or is cancelled."""

    def interim(self, result: Result) -> None:
        """The outputs as they stand mid-run (deploy-many: each entry's operation id as soon as it is
        accepted), written at once and overwritten by later ones; no summary, no annotation."""

    def progress(self, progress: Progress) -> None:
        """While waiting: after each status request, and about once a second between them with
        the last known state and a fresh elapsed time."""
