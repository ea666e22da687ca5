"""The Toxiproxy 2.x HTTP API of the embedded server: routes, handlers, exact bodies.

Each handler mirrors its counterpart in the real server's api.go: the same
checks in the same order, the same status codes, and the same bytes on the
wire (errors are `text/plain; charset=utf-8` with a JSON body and a newline,
except `/populate`, whose errors are `application/json` with a `proxies` key).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from harness.toxiproxy._gojson import GoJSONError, bind_fields, decode_first, go_type_name
from harness.toxiproxy._proxy import Proxy
from harness.toxiproxy._toxic import ToxicError, parse_new_toxic, parse_toxic_update

if TYPE_CHECKING:
    from harness.toxiproxy._metrics import Metrics

__all__ = ["Api", "Response", "API_VERSION"]

#: The real server release whose API and behaviour this server reproduces.
API_VERSION = "2.12.0"

#: (status, content type or None, extra headers, body)
Response = tuple[int, str | None, tuple[tuple[str, str], ...], bytes]

_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_NOSNIFF = (("X-Content-Type-Options", "nosniff"),)
_PROXY_FIELDS = {"name": "string", "listen": "string", "upstream": "string", "enabled": "bool"}
_POPULATE_TYPE = 'struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }'


def _dumps(value: Any) -> bytes:
    """Compact JSON escaped as Go's json.Marshal escapes it.

    Never raises: a lone surrogate (refused on input, so only reachable through
    a bug) is written as U+FFFD, as Go writes invalid UTF-8, instead of making
    every later `GET /proxies` a 500.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", "\ufffd", text).encode()


def ok(status: int, value: Any) -> Response:
    return status, _JSON, (), _dumps(value)


def empty(status: int) -> Response:
    return status, None, (), b""


def error(status: int, message: str) -> Response:
    """Go's `http.Error` with the API's JSON error: text/plain, nosniff, trailing newline."""
    return status, _TEXT, _NOSNIFF, _dumps({"error": message, "status": status}) + b"\n"


NOT_FOUND: Response = (404, _TEXT, _NOSNIFF, b"404 page not found\n")
METHOD_NOT_ALLOWED: Response = (405, None, (), b"")
BROWSER_BLOCKED: Response = (403, _TEXT, _NOSNIFF, b"User agent not allowed\n")

Handler = Callable[..., Awaitable[Response]]


class Route(NamedTuple):
    """A matched route: the handler and its path arguments."""

    handler: Handler
    args: tuple[str, ...]


class Api:
    """All proxies of one server and the handlers of its HTTP API."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.metrics = metrics  # serves /metrics when given (-proxy-metrics / -runtime-metrics)
        self._lock = asyncio.Lock()  # one request at a time: handlers await while binding

    def route(self, method: str, path: str) -> Route | Response:
        """The handler and path arguments for a request, or the mux's 404/405."""
        parts = path.split("/")[1:] if path.startswith("/") else []
        if any(p == "" for p in parts):
            return NOT_FOUND
        table: dict[str, Handler] | None = None
        args: tuple[str, ...] = ()
        if parts == ["reset"]:
            table = {"POST": self.reset}
        elif parts == ["version"]:
            table = {"GET": self.version}
        elif parts == ["populate"]:
            table = {"POST": self.populate}
        elif parts == ["metrics"] and self.metrics is not None:
            return Route(self.serve_metrics, ())  # any method, as the real server's r.Handle
        elif parts == ["proxies"]:
            table = {"GET": self.list_proxies, "POST": self.create_proxy}
        elif len(parts) == 2 and parts[0] == "proxies":
            table = {"GET": self.show_proxy, "POST": self.update_proxy, "PATCH": self.update_proxy, "DELETE": self.delete_proxy}
            args = (parts[1],)
        elif len(parts) == 3 and parts[0] == "proxies" and parts[2] == "toxics":
            table = {"GET": self.list_toxics, "POST": self.create_toxic}
            args = (parts[1],)
        elif len(parts) == 4 and parts[0] == "proxies" and parts[2] == "toxics":
            table = {"GET": self.show_toxic, "POST": self.update_toxic, "PATCH": self.update_toxic, "DELETE": self.delete_toxic}
            args = (parts[1], parts[3])
        if table is None:
            return NOT_FOUND
        handler = table.get(method)
        if handler is None:
            return METHOD_NOT_ALLOWED
        return Route(handler, args)

    async def handle(self, method: str, path: str, body: bytes, user_agent: str) -> Response:
        """Answer one request (the browser block applies to routed requests, as with gorilla/mux)."""
        routed = self.route(method, path)
        if not isinstance(routed, Route):
            return routed
        return await self.dispatch(routed, body, user_agent)

    async def dispatch(self, routed: Route, body: bytes, user_agent: str) -> Response:
        """Run a routed request through the real server's middlewares (browser block) and handler."""
        if user_agent.startswith("Mozilla/"):
            return BROWSER_BLOCKED
        async with self._lock:
            try:
                return await routed.handler(*routed.args, body=body)
            except ToxicError as exc:
                return error(exc.status, exc.message)

    def reads_body(self, routed: Route, user_agent: str) -> bool:
        """Whether the handler would read the body (Go sends `100 Continue` only then)."""
        if user_agent.startswith("Mozilla/"):
            return False
        handler = routed.handler
        if handler in (self.create_proxy, self.populate):
            return True
        if handler in (self.update_proxy, self.create_toxic):
            return routed.args[0] in self.proxies
        if handler == self.update_toxic:
            proxy = self.proxies.get(routed.args[0])
            return proxy is not None and proxy.toxic(routed.args[1]) is not None
        return False

    async def serve_metrics(self, *, body: bytes) -> Response:
        assert self.metrics is not None
        content_type, text = self.metrics.exposition()
        return 200, content_type, (), text

    def _proxy_metrics(self) -> Metrics | None:
        return self.metrics if self.metrics is not None and self.metrics.proxy else None

    def _proxy(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise ToxicError(404, "proxy not found")
        return proxy

    # -- server ---------------------------------------------------------------

    async def version(self, *, body: bytes) -> Response:
        return 200, "application/json;charset=utf-8", (), f'{{"version": "{API_VERSION}"}}\n'.encode()

    async def reset(self, *, body: bytes) -> Response:
        for proxy in list(self.proxies.values()):
            await proxy.start()
            proxy.remove_all_toxics()
        return empty(204)

    async def shutdown(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()

    # -- proxies --------------------------------------------------------------

    async def list_proxies(self, *, body: bytes) -> Response:
        return ok(200, {name: self.proxies[name].to_json() for name in sorted(self.proxies)})

    async def create_proxy(self, *, body: bytes) -> Response:
        try:
            fields = bind_fields(decode_first(body), _PROXY_FIELDS, "Proxy", top_type="toxiproxy.Proxy")
        except GoJSONError as exc:
            return error(400, f"bad request body: {exc}")
        name, upstream = fields.get("name", ""), fields.get("upstream", "")
        if not name:
            return error(400, "missing required field: name")
        if not upstream:
            return error(400, "missing required field: upstream")
        if name in self.proxies:
            return error(409, "proxy already exists")
        proxy = Proxy(name, fields.get("listen", ""), upstream, self._proxy_metrics())
        if fields.get("enabled", True):
            await proxy.start()
        self.proxies[name] = proxy
        return ok(201, proxy.to_json())

    async def show_proxy(self, name: str, *, body: bytes) -> Response:
        return ok(200, self._proxy(name).to_json())

    async def update_proxy(self, name: str, *, body: bytes) -> Response:
        proxy = self._proxy(name)
        try:
            fields = bind_fields(decode_first(body), _PROXY_FIELDS, "Proxy", top_type="toxiproxy.Proxy")
        except GoJSONError as exc:
            return error(400, f"bad request body: {exc}")
        listen = fields.get("listen", proxy.listen)
        upstream = fields.get("upstream", proxy.upstream)
        enabled = fields.get("enabled", proxy.enabled)
        if await proxy.differs(listen, upstream):
            proxy.stop()
            proxy.listen, proxy.upstream = listen, upstream
        if enabled != proxy.enabled:
            if enabled:
                await proxy.start()
            else:
                proxy.stop()
        return ok(200, proxy.to_json())

    async def delete_proxy(self, name: str, *, body: bytes) -> Response:
        self._proxy(name).stop()
        del self.proxies[name]
        return empty(204)

    async def populate(self, *, body: bytes) -> Response:
        def failed(status: int, message: str, done: list[Proxy] | None) -> Response:
            listed = [p.to_json() for p in done] if done else None
            return status, _JSON, (), _dumps({"error": message, "status": status, "proxies": listed})

        try:
            data = decode_first(body)
            if data is None:  # Go decodes null into a nil slice: nothing to do, 201
                data = []
            if not isinstance(data, list):
                kind = go_type_name(data)
                raise GoJSONError(f"json: cannot unmarshal {kind} into Go value of type []{_POPULATE_TYPE}")
            entries = [bind_fields(e, _PROXY_FIELDS, "Proxy", top_type=_POPULATE_TYPE) for e in data]
        except GoJSONError as exc:
            return failed(400, f"bad request body: {exc}", None)
        for i, entry in enumerate(entries, start=1):
            if not entry.get("name"):
                return failed(400, f"missing required field: name at proxy {i}", None)
            if not entry.get("upstream"):
                return failed(400, f"missing required field: upstream at proxy {i}", None)
        done: list[Proxy] = []
        for entry in entries:
            name, listen, upstream = entry["name"], entry.get("listen", ""), entry["upstream"]
            try:
                existing = self.proxies.get(name)
                if existing is not None:
                    if not await existing.differs(listen, upstream):
                        done.append(existing)
                        continue
                    existing.stop()
                    del self.proxies[name]
                proxy = Proxy(name, listen, upstream, self._proxy_metrics())
                if entry.get("enabled", True):
                    await proxy.start()
            except ToxicError as exc:
                return failed(exc.status, exc.message, done)
            self.proxies[name] = proxy
            done.append(proxy)
        return ok(201, {"proxies": [p.to_json() for p in done] or None})

    # -- toxics ---------------------------------------------------------------

    async def list_toxics(self, name: str, *, body: bytes) -> Response:
        return ok(200, [t.to_json() for t in self._proxy(name).ordered_toxics()])

    async def create_toxic(self, name: str, *, body: bytes) -> Response:
        proxy = self._proxy(name)
        toxic = parse_new_toxic(body, {t.name for t in proxy.toxics})
        proxy.add_toxic(toxic)
        return ok(200, toxic.to_json())

    def _toxic(self, proxy: Proxy, name: str) -> Any:
        toxic = proxy.toxic(name)
        if toxic is None:
            raise ToxicError(404, "toxic not found")
        return toxic

    async def show_toxic(self, name: str, toxic: str, *, body: bytes) -> Response:
        return ok(200, self._toxic(self._proxy(name), toxic).to_json())

    async def update_toxic(self, name: str, toxic_name: str, *, body: bytes) -> Response:
        proxy = self._proxy(name)
        toxic = self._toxic(proxy, toxic_name)
        toxic.toxicity, toxic.attributes = parse_toxic_update(body, toxic)
        proxy.update_toxic(toxic)
        return ok(200, toxic.to_json())

    async def delete_toxic(self, name: str, toxic_name: str, *, body: bytes) -> Response:
        proxy = self._proxy(name)
        proxy.remove_toxic(self._toxic(proxy, toxic_name))
        return empty(204)
