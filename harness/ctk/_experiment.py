"""Chaos Toolkit experiment files in `harness gameday`: load, check against the topology, read the journal.

A CTK experiment is run by chaostoolkit-lib itself (steady-state hypothesis,
method, pauses, rollbacks, configuration, secrets, python/http/process
providers): re-implementing its semantics would drift from what `chaos run`
does. The harness adds what CTK lacks: the platform, the load, exact samples,
the SLO and failover verdicts. This module is the seam between the two:

- `is_ctk_experiment`: tell a CTK file from a harness experiment file;
- `load_ctk_experiment`: chaostoolkit-lib's own loader and validator, plus a
  check that every chaostoolkit-toxiproxy activity names a link of the
  topology, all problems at once, as one ExperimentError (exit 2) before any
  load starts;
- `toxiproxy_configuration`: point chaostoolkit-toxiproxy at the harness's
  Toxiproxy, where every link is a proxy of the same name;
- `fault_windows`: when each fault was in force, read from the journal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness._exceptions import ExperimentError
from harness.chaos._failover import FaultWindow

__all__ = ["is_ctk_experiment", "load_ctk_experiment", "toxiproxy_configuration", "fault_windows", "fault_change"]

_TOXI = "chaostoxi."
#: chaostoolkit-toxiproxy activities that start a fault, and the kind of fault.
_STARTS = {
    "create_latency_toxic": "latency", "create_timeout_toxic": "timeout",
    "create_bandwith_degradation_toxic": "bandwidth", "create_slow_connection_close_toxic": "slow_close",
    "create_slicer_toxic": "slicer", "create_limiter_toxic": "limit_data", "create_toxic": "toxic",
    "disable_proxy": "down",
}  # fmt: skip
_ENDS = {"delete_toxic", "enable_proxy", "reset"}


def is_ctk_experiment(data: object) -> bool:
    """A CTK experiment's method holds activities (`type` + `provider`/`ref`), not timed faults (`at`)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("method"), list):
        return False
    return any(isinstance(a, Mapping) and ("provider" in a or "ref" in a) for a in data["method"])


def _activities(experiment: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    for i, a in enumerate(hypothesis.get("probes") or []):
        yield f"steady-state-hypothesis.probes[{i}]", a
    for section in ("method", "rollbacks"):
        for i, a in enumerate(experiment.get(section) or []):
            yield f"{section}[{i}]", a


def _toxi_target(activity: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(func, proxy name) of a chaostoolkit-toxiproxy activity, None for any other activity."""
    provider = activity.get("provider")
    if not isinstance(provider, Mapping) or provider.get("type") != "python":
        return None
    module = str(provider.get("module", ""))
    if not module.startswith(_TOXI):
        return None
    args = provider.get("arguments") or {}
    name = args.get("for_proxy", args.get("proxy_name")) if isinstance(args, Mapping) else None
    return str(provider.get("func", "")), None if name is None else str(name)


def load_ctk_experiment(path: str | Path, links: Collection[str]) -> dict[str, Any]:
    """Load and validate a CTK experiment (JSON or YAML) for a platform with these links."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    source = str(path)
    try:
        experiment: dict[str, Any] = load_experiment(source)
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ExperimentError(str(exc).strip().splitlines()[0], source=source) from None
    except (TypeError, AttributeError, KeyError, ValueError) as exc:  # chaoslib's validator on a wrongly shaped field
        raise ExperimentError(f"not a valid Chaos Toolkit experiment: {type(exc).__name__}: {exc}",
                              source=source) from None
    problems = []
    for where, activity in _activities(experiment):
        target = _toxi_target(activity)
        if target is None:
            continue
        func, proxy = target
        if func in ("create_proxy", "delete_proxy", "modify_proxy"):
            # every link is already a proxy of the topology, and a run restores toxics and the enabled
            # flag on every stop path, not a deleted or redirected proxy
            problems.append(f"{where}: {func} is refused: links are the topology's proxies; "
                            "use toxics or disable/enable_proxy")
        elif proxy is not None and proxy not in links:
            problems.append(f"{where}: no link {proxy!r} in the topology (links: {', '.join(sorted(links))})")
    if problems:
        raise ExperimentError.combine([ExperimentError(p, source=source) for p in problems])
    return experiment


def fault_change(activity: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """("injected" | "removed", fault kind, proxy) for a chaostoolkit-toxiproxy activity that changes a fault."""
    target = _toxi_target(activity)
    if target is not None and target[0] == "reset":
        return "removed", "reset", "every proxy"
    if target is None or target[1] is None:
        return None
    func, proxy = target[0], target[1]
    if func in _STARTS:
        return "injected", _STARTS[func], proxy
    if func in _ENDS:
        return "removed", "toxic" if func == "delete_toxic" else func, proxy
    return None


def toxiproxy_configuration(toxiproxy_url: str) -> dict[str, Any]:
    """CTK configuration keys that send chaostoolkit-toxiproxy to the harness's Toxiproxy."""
    parts = urlsplit(toxiproxy_url)
    return {"toxiproxy_url": toxiproxy_url.rstrip("/"), "toxiproxy_host": parts.hostname or "127.0.0.1",
            "toxiproxy_port": parts.port or 8474}


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def fault_windows(journal: Mapping[str, Any], *, judge: tuple[str, ...] = ("failover", "recovery")) -> list[FaultWindow]:
    """When each chaostoolkit-toxiproxy fault was in force, from the run's journal.

    A fault (named after the activity that started it) starts when its
    action completed (the toxic exists from then on) and ends when a later
    activity (method or rollback) deleted that toxic, re-enabled that proxy
    or reset every proxy; never removed in the journal leaves `removed_at`
    None (the harness's own rollback removes it anyway).
    """
    runs = [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]
    open_: dict[tuple[str, str], tuple[str, str, float]] = {}
    windows: list[FaultWindow] = []
    for run in sorted(runs, key=lambda r: str(r.get("start", ""))):
        if run.get("status") != "succeeded":
            continue
        activity = run.get("activity") or {}
        target = _toxi_target(activity)
        if target is None or (target[1] is None and target[0] != "reset"):
            continue
        func, proxy = target[0], str(target[1])
        args = activity["provider"].get("arguments") or {}
        toxic = "" if func in ("disable_proxy", "enable_proxy") else str(args.get("toxic_name", ""))
        if func in _STARTS:
            open_[(proxy, toxic)] = (str(activity.get("name", func)), _STARTS[func], _epoch(run["end"]))
        elif func in _ENDS:
            keys = [k for k in open_ if func == "reset" or k == (proxy, toxic)]
            for key in keys:
                name, kind, start = open_.pop(key)
                windows.append(FaultWindow(name, key[0], kind, start, _epoch(run["end"]), judge))
    for (proxy, _toxic), (name, kind, start) in open_.items():
        windows.append(FaultWindow(name, proxy, kind, start, None, judge))
    return sorted(windows, key=lambda w: w.injected_at)
