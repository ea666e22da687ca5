"""`/metrics` of the embedded server: `-proxy-metrics` and `-runtime-metrics`, as the real server.

The names follow toxiproxy-server's Go source (collectors/proxy.go): two
counters, `toxiproxy_proxy_received_bytes_total` and
`toxiproxy_proxy_sent_bytes_total`, labelled `direction`, `listener`,
`proxy` and `upstream`, added to when a connection (link) ends. Runtime
metrics are prometheus-client's: `process_*` under the same names as Go's
process collector, and `python_info` / `python_gc_*` where Go has `go_*`
(this is not a Go runtime). prometheus-client is imported only when a flag
asks for metrics, so a plain server does not pay for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Metrics"]

_LABELS = ("direction", "listener", "proxy", "upstream")  # Go's registry prints them sorted


class Metrics:
    """One registry with the collectors the flags ask for."""

    def __init__(self, *, proxy: bool, runtime: bool) -> None:
        import prometheus_client as prom

        prom.disable_created_metrics()  # type: ignore[no-untyped-call]  # Go's counters have no `_created` series
        self.registry = prom.CollectorRegistry()
        self.proxy = proxy
        self._exposition: Any = prom.generate_latest
        self.content_type = "text/plain; version=0.0.4; charset=utf-8"
        self._received: Any = None
        self._sent: Any = None
        if runtime:
            prom.ProcessCollector(registry=self.registry)
            prom.PlatformCollector(registry=self.registry)
            prom.GCCollector(registry=self.registry)
        if proxy:
            self._received = prom.Counter(
                "toxiproxy_proxy_received_bytes_total", "", _LABELS, registry=self.registry
            )
            self._sent = prom.Counter("toxiproxy_proxy_sent_bytes_total", "", _LABELS, registry=self.registry)

    def count(self, direction: str, proxy: str, listener: str, upstream: str, received: int, sent: int) -> None:
        """Add one finished link direction's bytes (a no-op without -proxy-metrics)."""
        if not self.proxy:
            return
        labels = {"direction": direction, "listener": listener, "proxy": proxy, "upstream": upstream}
        self._received.labels(**labels).inc(received)
        self._sent.labels(**labels).inc(sent)

    def exposition(self) -> tuple[str, bytes]:
        """(content type, body) of a scrape."""
        return self.content_type, bytes(self._exposition(self.registry))
