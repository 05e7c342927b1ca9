"""The SSRF guard: which network addresses an outbound request may connect to.

A callback URL is chosen by whoever subscribes, so without a guard the hub would POST to our
own Redis, the cloud metadata service (169.254.169.254) or anything on the private network.
The check runs on the addresses a name resolves to *at connect time*, and the connection is
made to the very address checked (``client.GuardedBackend``): a name that resolves to a public
address for a pre-check and to 127.0.0.1 a moment later (DNS rebinding) gains nothing, as
there is no pre-check to fool. Development and tests allow private addresses
(``OUTBOUND_ALLOW_PRIVATE=1``), since their peers live on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


class RefusedAddress(OSError):
    """The destination resolves to an address outbound requests must never reach."""


def forbidden(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached from outside-given URLs, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return forbidden(address.ipv4_mapped)  # ::ffff:127.0.0.1 is 127.0.0.1
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private or address.is_reserved or not address.is_global:
        # is_private covers 10/8, 172.16/12, 192.168/16, fc00::/7 and the like; the rest
        # (shared address space 100.64/10, documentation ranges) is no public server either.
        return "private"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (TCP), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(host: str, port: int, *, allow_private: bool,
                      resolver: Resolver = system_resolver) -> list[str]:
    """Resolve ``host`` once and return its addresses, all of them allowed.

    One forbidden address refuses the whole name (not just that address): a name that mixes
    public and private answers is an attack or a misconfiguration, not something to work
    around. Raises :class:`RefusedAddress`, or ``OSError`` when the name does not resolve.
    """
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        addresses = list(resolver(host, port))
    else:
        addresses = [str(literal)]
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    if not allow_private:
        for text in addresses:
            reason = forbidden(ipaddress.ip_address(text.split("%", 1)[0]))
            if reason is not None:
                raise RefusedAddress(f"{host} resolves to {text}, a {reason} address")
    return addresses
