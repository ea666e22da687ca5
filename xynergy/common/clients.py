"""Pooled upstream clients: one ``httpx.AsyncClient`` per upstream, explicit limits.

Upstreams are plain-http loopback services, but httpx still builds a TLS
context per client and loading the CA bundle costs ~50 ms each; one shared
context keeps cold starts short.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["pooled_client"]


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
    """A client for one upstream; ``transport`` replaces the network (tests)."""
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, trust_env=False,
                             verify=_tls_context(), transport=transport)
