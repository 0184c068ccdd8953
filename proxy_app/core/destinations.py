"""Which addresses a URL that a client chose (a session's ``openai-url``) may reach.

Without a check, ``!/set(openai-url=http://169.254.169.254/v1)`` makes the proxy POST to the cloud
metadata service, ``http://127.0.0.1:6379`` to its own Redis: server-side request forgery. A
user-chosen host must resolve to public addresses only, unless the operator allows it by name
(``OPENAI_URL_ALLOWED_HOSTS``) or by network (``OPENAI_URL_ALLOWED_NETWORKS``).

The check runs three times: when the URL is set (a clear command error), before each request (a
403 in the client's protocol) and, in the proxy's own transport, at connect time on the addresses it
then connects to (``GUARD``): a name that resolved to a public address a moment ago may resolve to
``127.0.0.1`` now (DNS rebinding), so only a check of the address actually connected to holds.

Literal hosts are read as resolvers read them: ``2130706433``, ``0x7f.1`` and ``0177.0.0.1`` are all
``127.0.0.1`` to ``getaddrinfo`` (``inet_aton``'s forms), and must be to the check as well.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
AddrInfo = tuple[Any, ...]  # one of getaddrinfo's answers: family, type, proto, canonname, sockaddr

SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
RESOLVE_SECONDS = 3.0  # bound on a blocking resolution (``check_blocking``)


class DestinationRefused(PermissionError):
    """A user-chosen host that is, or resolves to, an address it may not reach. An ``OSError``, so a
    transport reports it as a failure to connect."""


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one in any form a resolver accepts, else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    return _inet_aton(host.removesuffix("."))


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """``inet_aton``'s forms: 1–4 dot-separated numbers, each decimal, octal (leading 0) or hex (0x),
    the last filling the remaining bytes (``127.1``, ``2130706433``, ``0x7f.0.0.1``)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        lowered = part.lower()
        try:
            if lowered.startswith("0x"):
                numbers.append(int(lowered[2:], 16))
            elif len(lowered) > 1 and lowered.startswith("0"):
                numbers.append(int(lowered[1:], 8))
            elif lowered.isdigit():
                numbers.append(int(lowered, 10))
            else:
                return None
        except ValueError:
            return None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64, IPv4-compatible), if any:
    the network delivers to that one."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def non_public_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (``"loopback"``, ``"link-local"``, …), or None when it is."""
    inner = embedded_ipv4(ip)
    if inner is not None:  # judged by the IPv4 address the network delivers to
        reason = non_public_reason(inner)
        return None if reason is None else f"{reason} (inside {ip})"
    for reason, applies in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("carrier-grade NAT", isinstance(ip, ipaddress.IPv4Address) and ip in SHARED_ADDRESS_SPACE),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    ):
        if applies:
            return reason
    return None


@dataclass(frozen=True)
class DestinationPolicy:
    """What a user-chosen URL may reach besides public addresses."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, hosts: Iterable[str], networks: Iterable[str]) -> DestinationPolicy:
        """The policy the settings name (``ValueError`` for a network that is not a CIDR)."""
        return _policy(tuple(hosts), tuple(networks))

    def host_allowed(self, host: str) -> bool:
        return host.strip("[]").lower().removesuffix(".") in self.allowed_hosts

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` may not be reached (a sentence), or None when it may."""
        reason = non_public_reason(ip)
        if reason is None:
            return None
        inner = embedded_ipv4(ip)
        if any(address in network for network in self.allowed_networks for address in (ip, inner) if address):
            return None
        return f"{ip} is a {reason} address"

    def refuse(self, host: str, addresses: Iterable[IPAddress]) -> None:
        """Raise ``DestinationRefused`` unless every address of ``host`` may be reached."""
        for ip in addresses:
            if (why := self.refusal(ip)) is not None:
                raise DestinationRefused(
                    f"{why}; the operator can allow it with OPENAI_URL_ALLOWED_HOSTS or OPENAI_URL_ALLOWED_NETWORKS"
                    if literal_address(host) is not None else
                    f"{host} resolves to {why}; the operator can allow it with OPENAI_URL_ALLOWED_HOSTS "
                    "or OPENAI_URL_ALLOWED_NETWORKS")

    async def resolve(self, host: str, port: int) -> list[AddrInfo] | None:
        """The addresses to connect to for ``host``, each checked; None for a host the operator
        allows by name (connect to it as usual). ``DestinationRefused`` for any non-allowed address
        (one bad answer among good ones is refused too: which one a connection would use is not ours
        to choose), ``OSError`` when it does not resolve."""
        if self.host_allowed(host):
            return None
        infos = await asyncio.get_running_loop().getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        self.refuse(host, (_address(info) for info in infos))
        return infos

    def check_blocking(self, host: str) -> None:
        """``resolve``'s check from synchronous code, bounded by ``RESOLVE_SECONDS`` (resolution
        runs on a worker thread): ``DestinationRefused``, or ``OSError`` when it does not resolve in time."""
        if self.host_allowed(host):
            return
        literal = literal_address(host)
        if literal is not None:
            self.refuse(host, [literal])
            return
        future = _resolver().submit(socket.getaddrinfo, host, None, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=RESOLVE_SECONDS)
        except concurrent.futures.TimeoutError:
            raise socket.gaierror(f"{host} did not resolve within {RESOLVE_SECONDS:g} s") from None
        self.refuse(host, (_address(info) for info in infos))


def _address(info: AddrInfo) -> IPAddress:
    return ipaddress.ip_address(str(info[4][0]).partition("%")[0])


@functools.lru_cache(maxsize=16)
def _policy(hosts: tuple[str, ...], networks: tuple[str, ...]) -> DestinationPolicy:
    return DestinationPolicy(
        frozenset(h.strip().lower().removesuffix(".") for h in hosts if h.strip()),
        tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks if n.strip()),
    )


@functools.cache
def _resolver() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="destination-check")


# Set while a call to a user-chosen URL runs: the own HTTP/1.1 transport then connects only to
# addresses this policy allows (``proxy_app.upstream.http1``); None for operator-configured backends.
GUARD: contextvars.ContextVar[DestinationPolicy | None] = contextvars.ContextVar("destination_guard", default=None)
