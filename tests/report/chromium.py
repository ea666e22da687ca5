"""Headless Chromium driven over the DevTools protocol (no Selenium, no Node).

`Chromium()` starts Debian's `chromium` on a free loopback debugging port
(`--remote-debugging-port=0`, the port read back from `DevToolsActivePort`),
opens one page and talks to it with `websockets`' synchronous client, which
the project already depends on. `load(url, width)` emulates a viewport,
navigates, waits for the load event and returns what a reviewer would look
at: console errors and uncaught exceptions, and the document's scroll width.
`screenshot(path)` writes a full-page PNG (for looking, never committed).

    python -m tests.report.chromium /tmp/shots file:///…/index.html   # 1400 and 390 px PNGs
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]


def executable() -> str | None:
    """Debian's `chromium` (what `.ci/run` installs), else None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageLoad:
    """What one page load showed: console errors, exceptions, and whether it overflows."""

    url: str
    width: int
    errors: list[str] = field(default_factory=list)
    scroll_width: int = 0
    wide: list[str] = field(default_factory=list)
    """Elements wider than the viewport (tag#id.class and their width), for the failure message."""


class Chromium:
    """One headless Chromium with one page; a context manager that always stops it."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        exe = executable()
        if exe is None:
            raise RuntimeError("chromium is not installed")
        self.timeout_s = timeout_s
        self._profile = tempfile.mkdtemp(prefix="harness-chromium-")
        self._proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._id = 0
        self._events: list[dict[str, Any]] = []
        try:
            self._ws = self._connect()
        except BaseException:
            self.close()
            raise

    def _connect(self) -> ClientConnection:
        marker = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while not marker.is_file() or not marker.read_text().strip():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not open its debugging port (exit {self._proc.poll()})")
            time.sleep(0.05)
        port = int(marker.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout_s) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get("type") == "page")
        # entered as a context manager (websockets >= 17.1 warns otherwise); `close()` exits it
        return connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=self.timeout_s).__enter__()

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout_s
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)

    def _wait_for(self, method: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not any(e.get("method") == method for e in self._events):
            self._events.append(json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def load(self, url: str, width: int, height: int = 900) -> PageLoad:
        """Open `url` in a `width`-px viewport and report errors and horizontal overflow."""
        self._events.clear()
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 600)
        self.send("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired")
        result = PageLoad(url, width)
        for e in self._events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                result.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                result.errors.append(p.get("exceptionDetails", {}).get("text", "exception"))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                result.errors.append(p["entry"].get("text", "error"))
        result.scroll_width = int(self.evaluate("document.documentElement.scrollWidth"))
        if result.scroll_width > width:
            result.wide = list(self.evaluate(
                f"Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > {width})"
                ".slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + (e.className.baseVal ?? e.className) + ' ' + "
                "Math.round(e.getBoundingClientRect().right))"))
        return result

    def evaluate(self, expression: str) -> Any:
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page as laid out at the current viewport width."""
        metrics = self.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"], "scale": 1}
        data = self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    with Chromium() as browser:
        for n, url in enumerate(sys.argv[2:]):
            for width in (1400, 390):
                load = browser.load(url, width)
                shot = browser.screenshot(out / f"{n}-{width}.png")
                print(shot, "scrollWidth", load.scroll_width, "errors", load.errors, load.wide)
