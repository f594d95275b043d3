"""A local stand-in for Entra ID and the Fabric deployment-pipelines API, to try fabric-ci without a tenant.

`Emulator` runs it in-process (tests, the demo); `main` is the `fabric-ci emulator` command and
`python -m fabric_ci.emulator`. The demo tenant it serves is described in `seed`.
"""

from fabric_ci.emulator.cli import main
from fabric_ci.emulator.server import Emulator, EmulatorConfig
from fabric_ci.emulator.state import RequestRecord

__all__ = ["Emulator", "EmulatorConfig", "RequestRecord", "main"]
