"""A local stand-in for Entra ID and the Fabric deployment-pipelines API, to try fabric-ci without a tenant.

`Emulator` runs it in-process (tests, the demo); `main` is the `fabric-ci emulator` command, the
`fabric-ci-emulator` script and `python -m fabric_ci.emulator`. The demo tenant it serves is
described in `seed`. Every sign-in method fabric-ci offers works against it: client secret, client
certificate (files written next to ca.pem), OIDC tokens from GitHub Actions and Azure DevOps
stand-ins, managed identity through an IMDS stand-in, and a user's password;
`Emulator.sign_in(method)` gives the inputs for each.
"""

from fabric_ci.emulator.cli import main
from fabric_ci.emulator.credentials import ClientCertificate
from fabric_ci.emulator.server import Emulator, EmulatorConfig
from fabric_ci.emulator.sign_in import SIGN_IN_METHODS, SignIn
from fabric_ci.emulator.state import AcceptedAssertion, RequestRecord

__all__ = [
    "SIGN_IN_METHODS",
    "AcceptedAssertion",
    "ClientCertificate",
    "Emulator",
    "EmulatorConfig",
    "RequestRecord",
    "SignIn",
    "main",
]
