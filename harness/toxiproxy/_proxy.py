"""Proxies of the embedded server: listen, accept, keep toxics, apply them to open links.

Address handling follows Go's `net` package closely enough that the API's
answers match the real server (`listen` is replaced by the bound address on
start; a disabled proxy keeps the raw string; the same errors on a bad
address or a port in use). One deliberate difference: a blank `listen`
binds 127.0.0.1 (the real server binds every interface).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import TYPE_CHECKING, Any

from harness.toxiproxy._link import Link
from harness.toxiproxy._toxic import Toxic, ToxicError

if TYPE_CHECKING:
    from harness.toxiproxy._metrics import Metrics

__all__ = ["Proxy", "resolve_address", "AddressError"]


class AddressError(ValueError):
    """An address Go's resolver would reject; the message is Go's text."""


def _split(addr: str) -> tuple[str, str]:
    """Go's `net.SplitHostPort`."""
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0:
            raise AddressError(f"address {addr}: missing ']' in address")
        if end + 1 == len(addr) or addr[end + 1] != ":":
            raise AddressError(f"address {addr}: missing port in address")
        return addr[1:end], addr[end + 2 :]
    if ":" not in addr:
        raise AddressError(f"address {addr}: missing port in address")
    host, _, port = addr.rpartition(":")
    if ":" in host:
        raise AddressError(f"address {addr}: too many colons in address")
    return host, port


def _port(addr: str, port: str) -> int:
    if port == "":
        return 0
    if not (port.isascii() and port.isdigit()):  # not "١٢" or "²", which str.isdigit accepts
        raise AddressError(f"lookup tcp/{port}: unknown port")
    digits = port.lstrip("0")  # Go accepts leading zeros; never int() a 5 000-digit string
    if len(digits) > 5 or int(digits or "0") > 65535:
        raise AddressError(f"address {addr}: invalid port")
    return int(digits or "0")


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


async def resolve_address(addr: str) -> tuple[str, int]:
    """Go's `net.ResolveTCPAddr("tcp", addr)` → (ip, port); IPv4 preferred for names.

    Names are looked up off the event loop (the data plane shares it), and a
    name no resolver could take (too long a label, a NUL) is "no such host",
    never an exception from the codec.
    """
    if addr == "":
        return "127.0.0.1", 0
    host, port_text = _split(addr)
    port = _port(addr, port_text)
    if host in ("", "localhost"):
        return "127.0.0.1", port
    ip = _literal_ip(host)
    if ip is not None:
        return ip, port
    loop = asyncio.get_running_loop()
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            info = await loop.getaddrinfo(host, None, family=family, type=socket.SOCK_STREAM)
        except (OSError, ValueError):  # UnicodeError (idna) is a ValueError
            continue
        if info:
            return str(info[0][4][0]), port
    raise AddressError(f"lookup {host}: no such host")


def format_address(ip: str, port: int) -> str:
    """`ip:port`, bracketing IPv6 as Go does."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class Proxy:
    """One named proxy: a listener on `listen` forwarding to `upstream`, with toxics."""

    def __init__(self, name: str, listen: str, upstream: str, metrics: Metrics | None = None) -> None:
        self.name = name
        self.metrics = metrics  # counts each link's bytes when -proxy-metrics is on
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[Toxic] = []  # insertion order, both streams
        self.links: set[Link] = set()
        self._server: asyncio.AbstractServer | None = None

    # -- JSON ---------------------------------------------------------------

    def ordered_toxics(self) -> list[Toxic]:
        """Upstream toxics first, then downstream, each in insertion order."""
        return self.chain("upstream") + self.chain("downstream")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "Logger": {},  # the real server leaks its zerolog Logger here since 2.5.0
            "toxics": [t.to_json() for t in self.ordered_toxics()],
        }

    def chain(self, direction: str) -> list[Toxic]:
        return [t for t in self.toxics if t.direction == direction]

    def toxic(self, name: str) -> Toxic | None:
        return next((t for t in self.toxics if t.name == name), None)

    # -- listening ------------------------------------------------------------

    def upstream_address(self) -> tuple[str, int]:
        """Where to dial for each new client (resolved per connection, as Go dials)."""
        host, port = _split(self.upstream)
        return host or "127.0.0.1", _port(self.upstream, port)

    async def differs(self, listen: str, upstream: str) -> bool:
        """Go's `Proxy.Differs`: compare the *resolved* listen address, then upstream."""
        try:
            ip, port = await resolve_address(listen)
        except AddressError as exc:
            raise ToxicError(500, str(exc)) from None
        return self.listen != format_address(ip, port) or self.upstream != upstream

    async def start(self) -> None:
        """Listen; the bound address replaces `listen` (500 with Go's text on failure)."""
        if self._server is not None:
            return
        try:
            ip, port = await resolve_address(self.listen)
        except AddressError as exc:
            raise ToxicError(500, f"listen tcp: {exc}") from None
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((ip, port))
            sock.listen(1024)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            reason = (exc.strerror or str(exc)).lower()
            raise ToxicError(500, f"listen tcp {format_address(ip, port)}: bind: {reason}") from None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: Link(self).client, sock=sock)
        bound = sock.getsockname()
        self.listen = format_address(str(bound[0]), int(bound[1]))
        self.enabled = True

    def stop(self) -> None:
        """Stop listening and drop every open connection (both sockets)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self.links):
            link.drop()
        self.links.clear()
        self.enabled = False

    # -- toxics on open links -----------------------------------------------

    def add_toxic(self, toxic: Toxic) -> None:
        self.toxics.append(toxic)
        for link in list(self.links):
            direction = link.direction(toxic)
            if direction is not None:
                direction.add(toxic)

    def update_toxic(self, toxic: Toxic) -> None:
        for link in list(self.links):
            direction = link.direction(toxic)
            if direction is not None:
                direction.update(toxic.name)

    def remove_toxic(self, toxic: Toxic) -> None:
        self.toxics.remove(toxic)
        for link in list(self.links):
            direction = link.direction(toxic)
            if direction is not None:
                direction.remove(toxic.name)

    def remove_all_toxics(self) -> None:
        for toxic in list(self.toxics):
            self.remove_toxic(toxic)
