"""Where the emulator listens, and the names its clients reach it by.

The address it binds (`--host`) and the names clients use (`--hostname`) differ once it runs in a
container: bound to 0.0.0.0, it is reached from other containers by its service name. The server
certificate carries every such name, and every URL the emulator hands out (discovery documents,
Location headers, the sign-in inputs, the CI and IMDS stand-ins) names the first of them, so that
TLS verifies wherever the client follows a URL to.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

__all__ = [
    "certificate_names",
    "checked_hostname",
    "is_loopback",
    "is_wildcard",
    "listen_address",
    "url_host",
]

LOOPBACK_IPV4 = "127.0.0.1"
LOOPBACK_IPV6 = "::1"
# Letters, digits and inner hyphens: what a certificate's DNS name may hold (trustme encodes names
# with IDNA 2008, which refuses "_", although Docker accepts it in a service name).
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def listen_address(host: str) -> str:
    """The IP address `host` names, as the server binds it: "localhost" is 127.0.0.1, brackets
    around an IPv6 address are dropped. ValueError for anything else, such as a host name."""
    text = host.strip()
    if text.lower() == "localhost":
        return LOOPBACK_IPV4
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(
            f"expected an IP address to listen on, such as 127.0.0.1 (the default), or 0.0.0.0 or :: for every "
            f"interface (in a container), got {host!r}; the names clients use go in --hostname"
        ) from None


def checked_hostname(name: str) -> str:
    """`name` as a certificate and a URL name it: lower case, without a trailing dot. An IP address
    is accepted as well; ValueError for anything a certificate cannot name."""
    text = name.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(text.removeprefix("[").removesuffix("]")))
    except ValueError:
        pass
    labels = text.split(".")
    if not text or len(text) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            f"expected a host name clients reach the emulator by, such as emulator or localhost "
            f"(letters, digits, '-' and '.'; a certificate cannot name '_'), got {name!r}"
        )
    return text


def is_wildcard(address: str) -> bool:
    """0.0.0.0 or ::, every interface."""
    return ipaddress.ip_address(address).is_unspecified


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def certificate_names(address: str, hostnames: Sequence[str]) -> list[str]:
    """The server certificate's subject alternative names: every host name, localhost, the
    loopback addresses of the bound address's family, and the bound address unless it is a
    wildcard (0.0.0.0 or :: names no one)."""
    names = [*hostnames, "localhost", LOOPBACK_IPV4]
    if ipaddress.ip_address(address).version == 6:
        names.append(LOOPBACK_IPV6)
    if not is_wildcard(address):
        names.append(address)
    return list(dict.fromkeys(names))


def url_host(address: str, hostnames: Sequence[str]) -> str:
    """The host part of the URLs the emulator hands out: the first host name if there is one, else
    the bound address (127.0.0.1 for a wildcard, which accepts IPv4 loopback connections too)."""
    host = hostnames[0] if hostnames else (LOOPBACK_IPV4 if is_wildcard(address) else address)
    return f"[{host}]" if ":" in host else host
