"""Who sent a request: the peer's address, or the one a trusted proxy says it forwarded for.

Behind nginx every request comes from nginx; the caller's address travels in X-Forwarded-For
(and X-Real-IP).  Anyone can write those headers, so they are believed only when the peer is
one of DANGJIAN_TRUSTED_PROXIES, and X-Forwarded-For is read from the right — the entries our
own proxies appended — back to the first address that is not a proxy of ours.  Whatever a
client wrote further left is never used.
"""

from __future__ import annotations

import functools
import ipaddress

from aiohttp import web

from server.typedefs import SETTINGS

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def parse_networks(value: str) -> tuple[Network, ...]:
    """`127.0.0.1,::1,10.0.0.0/8` as networks; ValueError naming the entry that is neither an
    address nor a network."""
    networks = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"{part!r} is not an IP address or network, such as 127.0.0.1 or 10.0.0.0/8"
            ) from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    # An IPv4 peer on a dual-stack socket is seen as ::ffff:a.b.c.d.
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def resolve(peer: str | None, forwarded: list[str], real_ip: str | None, trusted: str) -> str:
    """The client's address from the peer and the proxy headers (see the module's docstring)."""
    networks = parse_networks(trusted)
    nearest = _address(peer or "")
    if nearest is None:
        return peer or "-"
    if not any(nearest in n for n in networks):
        return str(nearest)  # a caller we do not know: its headers are its own word
    hops = [hop for header in forwarded for hop in header.split(",") if hop.strip()]
    if not hops and real_ip:
        hops = [real_ip]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:
            break  # garbage: the last address our own proxies vouched for is all we know
        nearest = ip
        if not any(ip in n for n in networks):
            break
    return str(nearest)


def client_address(request: web.Request) -> str:
    """The address of whoever sent `request`, as our own proxies saw it."""
    return resolve(
        request.remote,
        request.headers.getall("X-Forwarded-For", []),
        request.headers.get("X-Real-IP"),
        request.config_dict[SETTINGS].trusted_proxies,
    )
