"""One TLS context for every request, API and Entra alike.

We build the context ourselves instead of letting each library pick: `requests` (inside msal)
lets REQUESTS_CA_BUNDLE override an explicit `verify=`, which would silently drop the
`ca-bundle` input. The context trusts certifi's roots, the system store (which honours
SSL_CERT_FILE / SSL_CERT_DIR, how corporate proxies' CAs usually arrive), and the extra CAs.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi


def make_ssl_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context
