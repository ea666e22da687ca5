"""Pooled upstream clients: one ``httpx.AsyncClient`` per upstream, explicit limits.

Why these limits: httpcore 1.0's pool checks *every* pooled connection twice
per request (one ``poll()`` per idle socket to spot server disconnects), so
per-request CPU grows with the pool. A pool of 32 covers normal concurrency
(200 req/s x ~10-30 ms is under 10 in flight) and most fault windows, and a
5 s keep-alive expiry shrinks it again after a burst, so one burst does not
make every later request dearer. Upstreams are plain-http loopback services,
but httpx still builds a TLS context per client (~50 ms each to load the CA
bundle); one shared context keeps cold starts short.
"""

from __future__ import annotations

import functools
import http.cookiejar
import importlib.util
import ssl
import sys

import httpcore
import httpx

from xynergy.common.netio import AsyncioBackend

__all__ = ["pooled_client", "UPSTREAM_LIMITS", "skip_sniffio_probe"]

UPSTREAM_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=5.0)
"""Connection limits of every upstream pool (edge → services, routing → AI regions)."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def pooled_client(
    url: str,
    *,
    timeout: httpx.Timeout,
    limits: httpx.Limits,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client for one upstream; ``transport`` replaces the network (tests).

    A plain-http upstream gets httpx's own transport over httpcore's pool
    (same limits), with the socket layer swapped for ``AsyncioBackend``: about
    a quarter less CPU per upstream call than anyio's (see ``netio``).
    """
    if transport is None and url.startswith("http://"):
        transport = _plain_http_transport(limits)
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, trust_env=False,
                             verify=_tls_context(), transport=transport, cookies=_no_cookies())


def _no_cookies() -> http.cookiejar.CookieJar:
    """A jar that stores nothing.

    One client is shared by every caller of a service; httpx's default jar would
    keep an upstream's ``Set-Cookie`` and send it on later callers' requests,
    leaking one tenant's session to the next. Cookies pass through the edge as
    plain headers instead (``Set-Cookie`` to the caller, ``Cookie`` from it).
    """
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def _plain_http_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its connection pool rebuilt on ``AsyncioBackend``.

    httpx offers no ``network_backend`` parameter, so the pool it built is
    replaced by an identical one that has it; ``test_clients`` checks that
    httpx still keeps its pool where this looks for it.
    """
    transport = httpx.AsyncHTTPTransport(verify=_tls_context(), trust_env=False, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_tls_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport


def skip_sniffio_probe() -> None:
    """Make httpcore's per-request ``import sniffio`` fail fast when sniffio is absent.

    httpcore asks sniffio which async library runs on every lock, event and
    cancel-shield it builds (several per request). anyio 4 no longer installs
    sniffio, and a failed import is not cached, so each of those searched
    ``sys.path`` anew: about 6 % of the edge's and the routing engine's CPU.
    A ``None`` entry in ``sys.modules`` makes the import fail at once, and
    httpcore falls back to asyncio, the answer sniffio would have given.
    Process-wide, so only ``serve`` calls it, never an import.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
