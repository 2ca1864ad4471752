"""Which addresses the crawler may connect to: public ones only, unless the recipe allows private ones.

A name is resolved before the request (every address it resolves to must be public) and the connected
peer is checked again once connected, so a DNS answer that changes in between (rebinding) is caught.
"""
from __future__ import annotations

import ipaddress
import socket


class Refused(Exception):
    """The crawler will not connect there (private / loopback / link-local address, bad scheme)."""


def is_public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved, documentation ranges.
    return addr.is_global and not addr.is_multicast


def check_address(ip: str, allow_private: bool):
    if not allow_private and not is_public(ip):
        raise Refused(f"non-public address {ip} (set allow_private to crawl it)")


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The first address of host; Refused when any of its addresses is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise OSError(f"cannot resolve {host}: {e}") from None
    ips = [i[4][0] for i in infos]
    for ip in ips:
        check_address(ip, allow_private)
    return ips[0]
