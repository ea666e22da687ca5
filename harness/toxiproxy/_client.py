"""`ToxiproxyClient`: the only code in the harness that talks to the Toxiproxy HTTP API.

It is built on `toxiproxy-python`, whose `APIConsumer` keeps host and port in
class attributes (one server per process) and calls `requests` without a
timeout. Each client here gets its own `APIConsumer` subclass bound to one URL,
a `requests.Session` and timeouts, so two clients for two servers coexist.
The package's status checks (`validate_response`) are kept; its exceptions are
mapped onto the harness tree with messages that say what was asked of whom.

Every toxic added and every proxy disabled through a client is remembered so
`rollback()` can undo it at the end of a run, on error and on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from toxiproxy import exceptions as tp_exc
from toxiproxy.api import APIConsumer, validate_response

from harness._exceptions import (
    ConfigError,
    FaultInjectionError,
    InvalidToxic,
    ProxyExists,
    ProxyNotFound,
    ToxiproxyAPIError,
    ToxiproxyUnreachable,
)
from harness.toxiproxy._types import ProxyInfo, ProxySpec, ToxicInfo

__all__ = ["ToxiproxyClient", "DEFAULT_URL"]

DEFAULT_URL = "http://127.0.0.1:8474"
_TIMEOUT = (3.0, 15.0)  # connect, read (seconds)
_USER_AGENT = "xynergy-harness toxiproxy-client"


def _consumer_for(base_url: str, session: requests.Session) -> type[APIConsumer]:
    """An `APIConsumer` bound to one server, instead of the package's process-global one."""

    def _call(method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", _TIMEOUT)
        response: requests.Response = validate_response(session.request(method, base_url + url, **kwargs))
        return response

    class _BoundConsumer(APIConsumer):  # type: ignore[misc]  # the package has no type hints
        host = urlsplit(base_url).hostname or ""
        port = urlsplit(base_url).port or 8474

        @classmethod
        def get(cls, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
            return _call("GET", url, params=params, **kwargs)

        @classmethod
        def delete(cls, url: str, **kwargs: Any) -> requests.Response:
            return _call("DELETE", url, **kwargs)

        @classmethod
        def post(cls, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
            return _call("POST", url, data=data, json=json, **kwargs)

    return _BoundConsumer


def _error_text(body: bytes) -> str | None:
    """The `error` field of a Toxiproxy error body, or None if it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else None


class ToxiproxyClient:
    """Talk to one Toxiproxy server (the embedded one or a real `toxiproxy-server`).

    **Parameters:**

    * **url** - the server's API address; default `$TOXIPROXY_URL`, else
      `http://127.0.0.1:8474`.

    Use it as a context manager so every toxic it added is removed and every
    proxy it disabled re-enabled, whatever happens:

        with ToxiproxyClient() as tp:
            tp.add_toxic("edge->redis", "slow", "latency", attributes={"latency": 200})
            ...
    """

    def __init__(self, url: str | None = None) -> None:
        raw = url if url is not None else os.environ.get("TOXIPROXY_URL") or DEFAULT_URL
        parts = urlsplit(raw.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{raw!r} is not an http(s)://host:port URL", source="TOXIPROXY_URL")
        try:
            parts.port
        except ValueError:
            raise ConfigError(f"{raw!r} has an invalid port", source="TOXIPROXY_URL") from None
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": _USER_AGENT, "Content-Type": "application/json"})
        self._api = _consumer_for(self.url, self._session)
        self._lock = threading.Lock()
        self._added: dict[tuple[str, str], None] = {}
        self._disabled: dict[str, None] = {}

    # -- plumbing ---------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> requests.Response:
        what = f"{method} {path}"
        try:
            if method == "GET":
                response: requests.Response = self._api.get(path)
                return response
            if method == "DELETE":
                return self._check(self._api.delete(path), what)
            return self._check(self._api.post(path, data=json.dumps(body) if body is not None else None), what)
        except requests.RequestException as exc:
            reason = type(exc).__name__
            raise ToxiproxyUnreachable(
                f"no Toxiproxy server answers at {self.url} (TOXIPROXY_URL) for {what}: {reason}"
            ) from None
        except (tp_exc.NotFound, tp_exc.ProxyExists, tp_exc.InvalidToxic) as exc:
            content = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else b""
            raise self._mapped(exc, content, what) from None

    def _mapped(self, exc: Exception, content: bytes, what: str) -> ToxiproxyAPIError | ToxiproxyUnreachable:
        error = _error_text(content)
        status = {tp_exc.NotFound: 404, tp_exc.ProxyExists: 409, tp_exc.InvalidToxic: 400}[type(exc)]
        if error is None:
            return ToxiproxyUnreachable(
                f"{self.url} (TOXIPROXY_URL) does not look like a Toxiproxy server: HTTP {status} for {what}"
            )
        message = f"Toxiproxy at {self.url}: {what}: HTTP {status}: {error}"
        cls = {404: ProxyNotFound, 409: ProxyExists, 400: InvalidToxic}[status]
        return cls(message, status=status)

    def _check(self, response: requests.Response, what: str) -> requests.Response:
        if response.status_code >= 400:
            error = _error_text(response.content) or response.text.strip() or "(empty body)"
            raise ToxiproxyAPIError(
                f"Toxiproxy at {self.url}: {what}: HTTP {response.status_code}: {error}",
                status=response.status_code,
            )
        return response

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        response = self._request(method, path, body)
        if method == "GET":
            self._check(response, f"{method} {path}")
        try:
            return response.json()
        except ValueError:
            raise ToxiproxyUnreachable(
                f"{self.url} (TOXIPROXY_URL) does not look like a Toxiproxy server: "
                f"{method} {path} did not return JSON"
            ) from None

    @staticmethod
    def _p(name: str) -> str:
        return quote(name, safe="")

    # -- server -----------------------------------------------------------

    def version(self) -> str:
        """The server's version string (`2.12.0`; `git` for a dev build)."""
        response = self._request("GET", "/version")
        self._check(response, "GET /version")
        try:
            data = response.json()
        except ValueError:
            return response.text.strip()  # <= 2.5.0 answered plain text
        if isinstance(data, dict) and "version" in data:
            return str(data["version"])
        return response.text.strip()

    def ping(self) -> bool:
        """True if a Toxiproxy server answers at the URL (never raises)."""
        try:
            self.version()
        except (ToxiproxyUnreachable, ToxiproxyAPIError):
            return False
        return True

    def reset(self) -> None:
        """Enable every proxy and remove every toxic on the server (not only ours)."""
        self._request("POST", "/reset", {})
        with self._lock:
            self._added.clear()
            self._disabled.clear()

    # -- proxies ----------------------------------------------------------

    def populate(self, specs: Iterable[ProxySpec]) -> dict[str, ProxyInfo]:
        """Create or update proxies in one call; unchanged ones keep their toxics (idempotent)."""
        body = [spec.as_json() for spec in specs]
        data = self._json("POST", "/populate", body)
        return {p["name"]: ProxyInfo.from_json(p) for p in (data.get("proxies") or [])}

    def create_proxy(self, spec: ProxySpec) -> ProxyInfo:
        """Create one proxy (409 `ProxyExists` if the name is taken)."""
        return ProxyInfo.from_json(self._json("POST", "/proxies", spec.as_json()))

    def delete_proxy(self, name: str) -> None:
        """Stop and remove a proxy (drops its connections)."""
        self._request("DELETE", f"/proxies/{self._p(name)}")
        with self._lock:
            self._disabled.pop(name, None)
            for key in [k for k in self._added if k[0] == name]:
                del self._added[key]

    def proxies(self) -> dict[str, ProxyInfo]:
        """Every proxy on the server, by name."""
        data = self._json("GET", "/proxies")
        return {name: ProxyInfo.from_json(p) for name, p in sorted(data.items())}

    def proxy(self, name: str) -> ProxyInfo:
        """One proxy (`ProxyNotFound` if unknown)."""
        return ProxyInfo.from_json(self._json("GET", f"/proxies/{self._p(name)}"))

    def disable(self, proxy: str) -> ProxyInfo:
        """Take a proxy down: refuse new connections and drop open ones."""
        info = ProxyInfo.from_json(self._json("POST", f"/proxies/{self._p(proxy)}", {"enabled": False}))
        with self._lock:
            self._disabled[proxy] = None
        return info

    def enable(self, proxy: str) -> ProxyInfo:
        """Bring a proxy back up."""
        info = ProxyInfo.from_json(self._json("POST", f"/proxies/{self._p(proxy)}", {"enabled": True}))
        with self._lock:
            self._disabled.pop(proxy, None)
        return info

    @contextlib.contextmanager
    def down(self, proxy: str) -> Iterator[ProxyInfo]:
        """Disable `proxy` for the duration of the block, re-enabling it on any exit."""
        info = self.disable(proxy)
        try:
            yield info
        finally:
            self.enable(proxy)

    # -- toxics -----------------------------------------------------------

    def toxics(self, proxy: str) -> list[ToxicInfo]:
        """The toxics of one proxy, upstream ones first."""
        return [ToxicInfo.from_json(t) for t in self._json("GET", f"/proxies/{self._p(proxy)}/toxics")]

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,  # noqa: A002 - the API's own word
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: Mapping[str, Any] | None = None,
    ) -> ToxicInfo:
        """Add a toxic to a proxy; it is remembered for `rollback()`."""
        body = {
            "name": name,
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": dict(attributes or {}),
        }
        info = ToxicInfo.from_json(self._json("POST", f"/proxies/{self._p(proxy)}/toxics", body))
        with self._lock:
            self._added[(proxy, info.name)] = None
        return info

    def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        toxicity: float | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> ToxicInfo:
        """Change a toxic's toxicity and/or attributes (attributes are merged)."""
        body: dict[str, Any] = {}
        if toxicity is not None:
            body["toxicity"] = toxicity
        if attributes is not None:
            body["attributes"] = dict(attributes)
        path = f"/proxies/{self._p(proxy)}/toxics/{self._p(name)}"
        return ToxicInfo.from_json(self._json("POST", path, body))

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic (`ProxyNotFound` if it or the proxy is gone)."""
        try:
            self._request("DELETE", f"/proxies/{self._p(proxy)}/toxics/{self._p(name)}")
        finally:
            with self._lock:
                self._added.pop((proxy, name), None)

    # -- rollback ---------------------------------------------------------

    @property
    def pending_rollback(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(toxics still to remove as (proxy, name), proxies still to re-enable)."""
        with self._lock:
            return list(self._added), list(self._disabled)

    def rollback(self) -> None:
        """Remove every toxic this client added and re-enable every proxy it disabled.

        Idempotent; toxics or proxies that are already gone are fine. If the
        server cannot be reached, everything is still attempted and one
        `FaultInjectionError` lists what could not be undone.
        """
        toxics, disabled = self.pending_rollback
        failures: list[str] = []
        for proxy, name in reversed(toxics):
            try:
                self.remove_toxic(proxy, name)
            except ProxyNotFound:
                pass
            except (ToxiproxyAPIError, ToxiproxyUnreachable) as exc:
                failures.append(f"toxic {name!r} on {proxy!r}: {exc}")
        for proxy in disabled:
            try:
                self.enable(proxy)
            except ProxyNotFound:
                with self._lock:
                    self._disabled.pop(proxy, None)
            except (ToxiproxyAPIError, ToxiproxyUnreachable) as exc:
                failures.append(f"re-enable {proxy!r}: {exc}")
        if failures:
            raise FaultInjectionError("rollback incomplete: " + "; ".join(failures))

    def close(self) -> None:
        """Release the HTTP session (does not roll back; `__exit__` does)."""
        self._session.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        except FaultInjectionError as rollback_error:
            if exc is None:
                raise
            exc.add_note(f"also: {rollback_error}")
        finally:
            self.close()

    def __repr__(self) -> str:
        return f"ToxiproxyClient({self.url!r})"
