"""`Platform`: the topology as running processes behind Toxiproxy, and torn down without trace.

    with Platform.up(load_topology()) as platform:
        httpx.post(platform.edge_url + "/v1/route", headers={"X-API-Key": platform.api_key}, ...)
        platform.restart("internal-ai.primary")

Start order: Toxiproxy, Redis, every proxy (populated idempotently), then the
services wave by wave (a wave only depends on earlier ones), each wave spawned
together and awaited on `/readyz` in parallel. Teardown always runs: toxics
removed, children SIGTERM then SIGKILL, spawner thread ended.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pandas as pd

from harness._exceptions import ConfigError, ServiceStartError, ServiceUnreachable
from harness.routers import TrafficSplit
from harness.routers.edge import EdgeRouter
from harness.topology._control import AttachedPlatform
from harness.topology._coldstart import PROBES, ColdStart, cpu_wait_s, http_ok, wait_until
from harness.topology._launch import InstancePlan, PlatformPlan, incoming_links, make_plan, redis_ping
from harness.topology._model import Topology, load_topology
from harness.topology._process import Child, Spawner, signals_ignored, sigterm_as_interrupt, stop_together
from harness.topology._records import CanaryRoute, Event, Instance
from harness.topology._resources import MemoryGrowth, ResourceSampler, memory_growth

if TYPE_CHECKING:
    from harness.revisions import RevisionBuild
    from harness.toxiproxy import ToxiproxyClient

__all__ = ["Platform", "StartProgress"]


@dataclass(frozen=True)
class StartProgress:
    """One step of a platform start, for a progress display: `starting` (once, with `total`), then `ready` per process."""

    state: str
    instance: str
    ready_s: float | None
    done: int
    total: int
    ts: float = field(default_factory=time.time)


class Platform:
    """The whole topology running on loopback; build it with `Platform.up(...)`."""

    def __init__(self, plan: PlatformPlan, run_dir: Path, *, ready_timeout: float, grace: float,
                 sample_interval: float, tie_children: bool = True) -> None:
        self.plan = plan
        self.run_dir = run_dir
        self.ready_timeout = ready_timeout
        self.grace = grace
        self.api_key = plan.api_key
        self.redis_mode = plan.redis_mode
        self.instances: dict[str, Instance] = {}
        self.cold_starts: list[ColdStart] = []
        self.events: list[Event] = []
        self._children: dict[str, Child] = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._spawner = Spawner(run_dir / "logs", tie_to_parent=tie_children)
        self._sampler = ResourceSampler(self._pids, interval=sample_interval) if sample_interval > 0 else None
        self._http = httpx.Client(timeout=2.0, headers={"X-API-Key": plan.api_key})
        self._toxiproxy: ToxiproxyClient | None = None
        self._router: EdgeRouter | None = None
        self._progress: Callable[[StartProgress], None] | None = None
        self._started: list[str] | None = None
        """Processes ready so far while `_start` runs (None otherwise)."""

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    @contextlib.contextmanager
    def up(
        cls,
        topology: Topology | str | Path | None = None,
        canary_defect: str | None = None,
        *,
        run_dir: str | Path | None = None,
        toxiproxy_url: str | None = None,
        ready_timeout: float = 30.0,
        grace: float = 5.0,
        sample_interval: float = 1.0,
        tie_children: bool = True,
        api_key: str | None = None,
        revisions: Mapping[str, RevisionBuild] | None = None,
        progress: Callable[[StartProgress], None] | None = None,
    ) -> Iterator[Platform]:
        """Start everything, yield the running platform, and always tear it down.

        `toxiproxy_url` (default: env `TOXIPROXY_URL`) uses that server instead
        of spawning the embedded one. `api_key` (default: env `XYNERGY_API_KEY`,
        needed for external services; else a random key per run) is given to
        every spawned service. Logs go to `run_dir/logs` (default: a temporary
        directory, removed after a clean exit). SIGTERM is treated like Ctrl-C.
        `progress` is told when the start begins and as each process is ready.
        """
        topo = topology if isinstance(topology, Topology) else load_topology(topology)
        key = api_key or os.environ.get("XYNERGY_API_KEY") or secrets.token_urlsafe(24)
        plan = make_plan(topo, api_key=key, canary_defect=canary_defect,
                         toxiproxy_url=toxiproxy_url or os.environ.get("TOXIPROXY_URL") or None, revisions=revisions)
        rdir = Path(run_dir) if run_dir is not None else Path(tempfile.mkdtemp(prefix="harness-up-"))
        platform = cls(plan, rdir, ready_timeout=ready_timeout, grace=grace,
                       sample_interval=sample_interval, tie_children=tie_children)
        platform._progress = progress
        with sigterm_as_interrupt():
            try:
                platform._start()
                yield platform
            except BaseException:
                platform.close()
                raise  # a temporary run_dir is kept: the error may point at its logs
            platform.close()
            if run_dir is None:
                shutil.rmtree(rdir, ignore_errors=True)

    @staticmethod
    def attach(state_file: str | Path = ".harness/state.json") -> AttachedPlatform:
        """The platform a supervisor (`harness up`, `--detach`) runs, from its state file."""
        return AttachedPlatform(state_file)

    def _start(self) -> None:
        from harness.toxiproxy import ProxySpec, ToxiproxyClient

        plan = self.plan
        self._started = []
        self._tell(self._progress_event("starting", "", None))
        if plan.toxiproxy is not None:
            self._launch(plan.toxiproxy, ready=lambda: _toxiproxy_up(plan.toxiproxy_url), probe=None)
        self._toxiproxy = ToxiproxyClient(plan.toxiproxy_url)
        self._toxiproxy.version()  # ToxiproxyUnreachable names TOXIPROXY_URL when nothing answers
        if plan.redis is not None:
            addr = plan.redis.url.removeprefix("redis://")
            self._launch(plan.redis, ready=lambda: redis_ping(addr), probe=None)
        self._toxiproxy.populate(ProxySpec(link.name, link.listen, link.upstream) for link in plan.links.values())
        for name, inst in plan.instances.items():
            if inst.external:
                self.instances[name] = Instance(name, "external", inst.revision, inst.region, inst.url,
                                                incoming_links(plan.links, name), state="external")
        for wave in plan.waves:
            for name in wave:  # spawn the whole wave first (spawns are quick) ...
                self._spawn(plan.instances[name])
            with ThreadPoolExecutor(max_workers=len(wave)) as pool:  # ... then await it in parallel
                futures = [pool.submit(self._await_start, name) for name in wave]
                try:
                    wait(futures, return_when=FIRST_EXCEPTION)
                    for future in sorted(futures, key=lambda f: not f.done()):  # a failure surfaces first
                        future.result()
                except BaseException:  # one failed, or Ctrl-C: the other waits stop at once
                    self._stopping.set()
                    raise
        self._started = None
        if self._sampler is not None:
            self._sampler.start()

    def _total(self) -> int:
        plan = self.plan
        own = [p for p in (plan.toxiproxy, plan.redis) if p is not None]
        return len(own) + sum(not i.external for i in plan.instances.values())

    def _progress_event(self, state: str, name: str, ready_s: float | None) -> StartProgress | None:
        """The start-up step to report (counted here, under the caller's lock when processes start in parallel)."""
        if self._progress is None or self._started is None:
            return None
        if state == "ready":
            self._started.append(name)
        return StartProgress(state, name, ready_s, len(self._started), self._total())

    def _tell(self, event: StartProgress | None) -> None:
        """Fire a start-up step; never under the platform's lock (a listener may write to a slow terminal)."""
        if event is not None and self._progress is not None:
            self._progress(event)

    def close(self) -> None:
        """Remove toxics, stop every child (edge first, Toxiproxy last), end threads. Idempotent."""
        self._stopping.set()
        with signals_ignored():
            if self._sampler is not None:
                self._sampler.stop()
            if self._toxiproxy is not None:
                with contextlib.suppress(Exception):  # the server may be the thing that died
                    self._toxiproxy.rollback()
                if self.plan.toxiproxy is None:  # a server we do not own: give its ports back
                    for link in self.plan.links:
                        with contextlib.suppress(Exception):
                            self._toxiproxy.delete_proxy(link)
                with contextlib.suppress(Exception):
                    self._toxiproxy.close()
            for wave in reversed(self.plan.waves):
                stop_together([self._children[n] for n in wave if n in self._children], self.grace)
            for name in ("redis", "toxiproxy"):
                if name in self._children:
                    self._children[name].stop(self.grace)
            for inst in self.instances.values():
                if inst.state != "external":
                    inst.state = "stopped"
            self._spawner.close()
            self._http.close()

    # ------------------------------------------------------------------ spawning
    def _launch(self, plan: InstancePlan, *, ready: Any, probe: Any) -> None:
        self._spawn(plan)
        self._await_start(plan.name, ready=ready, probe=probe)

    def _spawn(self, plan: InstancePlan) -> Child:
        child = self._spawner.spawn(plan.name, plan.argv, env=plan.env)
        with self._lock:
            self._children[plan.name] = child
            inst = Instance(plan.name, plan.kind, plan.revision, plan.region, plan.url,
                            incoming_links(self.plan.links, plan.name), pid=child.pid, cache=plan.cache)
            with contextlib.suppress(Exception):
                import psutil

                inst.create_time = psutil.Process(child.pid).create_time()
            self.instances[plan.name] = inst
        return child

    def _await_start(self, name: str, ready: Any = None, probe: Any = None) -> ColdStart:
        """Wait for readiness then the first successful real request; record the cold start."""
        plan = self._plan_of(name)
        child = self._children[name]
        ready = ready or (lambda: http_ok(self._http, "GET", f"{plan.url}/readyz"))
        if probe is None and plan.kind in PROBES:
            p = PROBES[plan.kind]
            probe = lambda: http_ok(self._http, p.method, f"{plan.url}{p.path}", json=p.body())  # noqa: E731

        def alive() -> bool:
            return child.alive() and not self._stopping.is_set()

        t_ready = wait_until(ready, timeout=self.ready_timeout, alive=alive)
        if t_ready is None:
            raise self._start_failure(child)
        waited = cpu_wait_s(child.pid)  # by the time it was ready: the start's own queueing, not the probe's
        t_ok = wait_until(probe, timeout=self.ready_timeout, alive=alive) if probe else None
        if probe is not None and t_ok is None:
            if not child.alive() or not plan.defect:  # a defective canary may fail its probe: no first-ok time
                raise self._start_failure(child, what="answered /readyz but its first real request never succeeded")
        cs = ColdStart(name, child.pid, child.spawned_at, t_ready - child.spawned_mono,
                       None if t_ok is None else t_ok - child.spawned_mono, waited)
        with self._lock:
            self.cold_starts.append(cs)
            self.instances[name].cold_start = cs
            self.instances[name].state = "running"
            ready = self._progress_event("ready", name, cs.ready_s)
        self._tell(ready)
        return cs

    def _start_failure(self, child: Child, what: str | None = None) -> ServiceStartError:
        code = child.returncode()
        if what is None:
            what = f"exited with code {code} during start-up" if code is not None else (
                f"not ready within {self.ready_timeout:g} s")
        tail = "\n".join("    " + line for line in child.last_lines(12))
        return ServiceStartError(f"{child.name} {what}; last log lines ({child.log_path}):\n{tail}")

    def _plan_of(self, name: str) -> InstancePlan:
        for plan in (self.plan.toxiproxy, self.plan.redis, *self.plan.instances.values()):
            if plan is not None and plan.name == name:
                return plan
        raise ConfigError(f"no such instance {name!r}; known: {', '.join(self.instances)}")

    # ------------------------------------------------------------------ what callers use
    @property
    def toxiproxy(self) -> ToxiproxyClient:
        """The Toxiproxy client; every toxic added through it is removed at teardown."""
        if self._toxiproxy is None:
            raise ServiceUnreachable("the platform is not up")
        return self._toxiproxy

    @property
    def edge_url(self) -> str:
        """The entry service as clients reach it: through the `client->ENTRY` proxy."""
        return self.plan.links[f"client->{self.plan.topology.entry}"].url

    @property
    def toxiproxy_url(self) -> str:
        return self.plan.toxiproxy_url

    def links(self) -> dict[str, str]:
        """Proxy name → listen address."""
        return {name: link.listen for name, link in self.plan.links.items()}

    def url(self, name: str) -> str:
        """The instance's own URL (bypassing every proxy)."""
        return self._plan_of(name).url

    def metrics_url(self, name: str) -> str:
        return f"{self.url(name)}/metrics"

    @property
    def canary(self) -> CanaryRoute | None:
        """The service a rollout shifts (the topology's canary) and the instance routing it."""
        return CanaryRoute.from_topology(self.plan.topology)

    @property
    def router(self) -> EdgeRouter:
        """The canary's traffic router: the routing instance's `/admin/traffic`, journaled here."""
        if self._router is None:
            route = self.canary
            if route is None:
                raise ConfigError("the topology declares no (single) canary to route", source=self.plan.topology.source)
            self._router = EdgeRouter(self.url(route.router), self.api_key, service=route.service,
                                      baseline=route.baseline, canary=route.canary, on_change=self._weight_set)
        return self._router

    def _weight_set(self, split: TrafficSplit) -> None:
        route = self.canary
        self._record("canary-weight", route.router if route else self.plan.topology.entry, None,
                     {"service": split.service, "percent": split.canary_percent})

    def set_canary_weight(self, pct: int) -> None:
        """Send `pct` % of the canary service's traffic to its canary (`router.set_canary_percent`)."""
        self.router.set_canary_percent(pct)

    def kill(self, name: str) -> Event:
        """SIGKILL the instance (no drain): a crash, as chaos experiments need."""
        child = self._child(name)
        child.signal(signal.SIGKILL)
        with contextlib.suppress(Exception):
            child.popen.wait(timeout=5)
        self.instances[name].state = "killed"
        return self._record("kill", name, child.pid)

    def freeze(self, name: str) -> Event:
        """SIGSTOP: the process hangs with its sockets open (a stalled service).

        Returns once the kernel shows it stopped (at most 2 s): SIGSTOP is
        delivered asynchronously, and on a busy host the process ran on for
        a moment after the event the fault's timeline counts from.
        """
        child = self._child(name)
        child.signal(signal.SIGSTOP)
        _await_stopped(child.pid, timeout=2.0)
        self.instances[name].state = "frozen"
        return self._record("freeze", name, child.pid)

    def thaw(self, name: str) -> Event:
        child = self._child(name)
        child.signal(signal.SIGCONT)
        self.instances[name].state = "running"
        return self._record("thaw", name, child.pid)

    def restart(self, name: str) -> ColdStart:
        """Stop gracefully (if still running), start again on the same port, record the cold start."""
        old = self._child(name)
        self._record("stop", name, old.pid)
        old.stop(self.grace)
        plan = self._plan_of(name)
        self._spawn(plan)
        if name == "toxiproxy":
            cs = self._await_start(name, ready=lambda: _toxiproxy_up(plan.url))
            from harness.toxiproxy import ProxySpec

            self.toxiproxy.populate(ProxySpec(lk.name, lk.listen, lk.upstream) for lk in self.plan.links.values())
        elif name == "redis":
            cs = self._await_start(name, ready=lambda: redis_ping(plan.url.removeprefix("redis://")))
        else:
            cs = self._await_start(name)
        self._record("start", name, cs.pid, {"ready_s": cs.ready_s, "first_ok_s": cs.first_ok_s})
        return cs

    def resource_samples(self) -> pd.DataFrame:
        """RSS/CPU time series: columns ts, instance, pid, rss_bytes, cpu_percent."""
        if self._sampler is None:
            return pd.DataFrame(columns=["ts", "instance", "pid", "rss_bytes", "cpu_percent"])
        return self._sampler.frame()

    def idle_rss_mib(self, names: list[str] | None = None) -> dict[str, float]:
        """RSS of each running instance now, in MiB (meaningful when no load is running)."""
        import psutil

        out: dict[str, float] = {}
        for name, pid in self._pids().items():
            if names is None or name in names:
                with contextlib.suppress(psutil.Error):
                    out[name] = psutil.Process(pid).memory_info().rss / (1024 * 1024)
        return out

    def memory_growth(self, warmup_s: float = 5.0) -> list[MemoryGrowth]:
        """Memory slope per instance after warm-up, flagged against the 512 MiB budget."""
        return memory_growth(self.resource_samples(), warmup_s=warmup_s)

    def describe(self) -> dict[str, Any]:
        """A JSON-able picture of the running platform (what the state file holds)."""
        return {
            "topology": self.plan.topology.source,
            "edge_url": self.edge_url,
            "toxiproxy_url": self.toxiproxy_url,
            "redis": {"mode": self.redis_mode, "url": self.plan.redis.url if self.plan.redis else None},
            "instances": {n: i.as_dict() for n, i in self.instances.items()},
            "links": {n: asdict(lk) for n, lk in self.plan.links.items()},
            "logs": str(self.run_dir / "logs"),
            "canary": self.canary.as_dict() if self.canary else None,
        }

    # ------------------------------------------------------------------ helpers
    def _child(self, name: str) -> Child:
        if name not in self._children:
            known = ", ".join(self._children)
            raise ConfigError(f"no spawned instance {name!r} (external instances cannot be touched); known: {known}")
        return self._children[name]

    def _pids(self) -> dict[str, int]:
        with self._lock:
            return {n: c.pid for n, c in self._children.items() if c.alive()}

    def _record(self, action: str, name: str, pid: int | None, detail: dict[str, Any] | None = None) -> Event:
        event = Event(time.time(), action, name, pid, detail or {})
        with self._lock:
            self.events.append(event)
        return event


def _await_stopped(pid: int, timeout: float) -> bool:
    """True once the kernel reports `pid` stopped (SIGSTOP delivered), False if it did not within `timeout`."""
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_STOPPED:
                return True
        except psutil.Error:
            return False  # gone: nothing left to wait for
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _toxiproxy_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/version", timeout=0.5).is_success
    except httpx.HTTPError:
        return False
