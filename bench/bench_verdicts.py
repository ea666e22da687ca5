"""A/A calibration and power of the sequential verdicts, by simulation (no processes).

    .venv/bin/python bench/bench_verdicts.py                 # 2000 healthy stages + power tables
    .venv/bin/python bench/bench_verdicts.py --samples reports/latest/stage-10/samples.arrow

Healthy stages are drawn from measured distributions: route latency is a
two-lognormal mixture fitted to the on-schedule `POST /v1/route` samples of
a real `harness rollout` on this machine (91.4 % median 6.66 ms σ 0.805,
8.6 % median 104 ms σ 0.537: cache hits and model calls), or resampled from
`--samples`; a 0.2 % error ratio; the scenario's tier mix (70 % small, 22.5 %
medium, 7.5 % large) priced with harness/data/prices.yaml. The canary gets
`weight` % of the route traffic (200 req/s × 51 % route share by default),
the baseline the rest; the judge looks every `--every` seconds up to
`--max-duration`, exactly as the sequential stage loop will.

Each check is decided with the same functions the harness uses
(`harness.stats` count bounds, proportion and bounded-mean sequences),
vectorised across stages; a few (stage, look) pairs are re-judged with the
real `compare_*` / `judge_cost` / `evaluate` code and must agree.

Prints: the false-FAIL rate of every check family and of the stage under
continuous peeking (A/A), how soon healthy checks PASS, and for latency
shifts, tail-only regressions, error increases and cost increases the
probability of rollback at the 10 % stage and the median time to it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.canary._cost import CostConfig  # noqa: E402
from harness.canary._judge import ERROR_PRIOR_MEAN, JudgeConfig  # noqa: E402
from harness.slo._evaluate import DEFAULT_MIN_SAMPLES  # noqa: E402
from harness.stats import SLO_ALPHA, bounded_mean_cs_path, count_bounds, prior, proportion_cs  # noqa: E402

MIX = ((0.914, math.log(6.66), 0.805), (0.086, math.log(104.17), 0.537))
TIER_PRICES = np.array([0.0002, 0.002, 0.012]) + 0.0000004  # small, medium, large call + request
TIER_MIX = np.array([0.70, 0.225, 0.075])
BASE_ERROR = 0.002
ROUTE_SHARE = 0.51
ABS_SLOS = 3  # latency-p95, error-ratio, security-failures share the α of one evaluate call


@dataclass
class Sim:
    stages: int
    looks: np.ndarray  # seconds
    n_canary: np.ndarray  # canary samples at each look
    n_base: np.ndarray
    latency: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def mixture(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    comp = rng.random(shape) < MIX[0][0]
    a = rng.lognormal(MIX[0][1], MIX[0][2], shape)
    b = rng.lognormal(MIX[1][1], MIX[1][2], shape)
    return np.where(comp, a, b).astype(np.float32)


def empirical(path: str) -> Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]:
    from harness.samples import read_samples

    frame = read_samples(path)
    rows = frame[(frame["name"] == "POST /v1/route") & frame["ok"]]
    late = (rows["ts"] - rows["intended_ts"]) * 1000
    values = rows.loc[late < 20, "latency_ms"].to_numpy(dtype=np.float32)
    print(f"latency resampled from {len(values)} on-schedule route samples of {path}")
    return lambda rng, shape: rng.choice(values, size=shape)


# ---------------------------------------------------------------- order statistics per look


def order_stats(x: np.ndarray, looks_n: np.ndarray, specs: list[tuple[float, float]], points: list[float]
                ) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
    """`quantile_cs` bounds for each (q, alpha) in `specs` and nearest-rank quantiles for each q in
    `points`, for every stage (rows of x) at every look: arrays (stages, looks), one partition per look."""
    bounds = [count_bounds(looks_n, q, alpha) for q, alpha in specs]
    rows, looks = x.shape[0], len(looks_n)
    lows = [np.full((rows, looks), -np.inf) for _ in specs]
    highs = [np.full((rows, looks), np.inf) for _ in specs]
    pts = [np.empty((rows, looks)) for _ in points]
    for j, n in enumerate(looks_n):
        n = int(n)
        want: list[int] = [max(0, math.ceil(n * q) - 1) for q in points]
        for s_lo, s_hi in bounds:
            want += [k for k in (int(s_lo[j]) - 1, int(s_hi[j])) if 0 <= k < n]
        if not want:
            continue
        part = np.partition(x[:, :n], sorted(set(want)), axis=1)
        for i, q in enumerate(points):
            pts[i][:, j] = part[:, max(0, math.ceil(n * q) - 1)]
        for i, (s_lo, s_hi) in enumerate(bounds):
            lo_k, hi_k = int(s_lo[j]), int(s_hi[j])
            if lo_k >= 1:
                lows[i][:, j] = part[:, lo_k - 1]
            if hi_k < n:
                highs[i][:, j] = part[:, hi_k]
    return list(zip(lows, highs, strict=True)), pts


def quantile_bounds(x: np.ndarray, looks_n: np.ndarray, q: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of `quantile_cs` at every look."""
    return order_stats(x, looks_n, [(q, alpha)], [])[0][0]


def point_quantile(x: np.ndarray, looks_n: np.ndarray, q: float) -> np.ndarray:
    """Nearest-rank (inverted-cdf) quantile at each look."""
    return order_stats(x, looks_n, [], [q])[1][0]


# ---------------------------------------------------------------- one family = verdicts per look


FAIL, PASS, UNDECIDED = 1, 2, 0


def three_way(low: np.ndarray, high: np.ndarray, limit: np.ndarray | float, strict: bool = True) -> np.ndarray:
    """`decide` vectorised for op lt (strict) or lte."""
    good_low = low < limit if strict else low <= limit
    good_high = high < limit if strict else high <= limit
    return np.where(good_low & good_high, PASS, np.where(~good_low & ~good_high, FAIL, UNDECIDED))


class Baseline:
    """What the judge needs from the baseline at every look, computed once per batch."""

    def __init__(self, rng: np.random.Generator, sim: Sim, batch: int, judge: JudgeConfig) -> None:
        nb = int(sim.n_base[-1])
        x = sim.latency(rng, (batch, nb))
        a, b, q = judge.family_alpha / 2, judge.beta / 2, judge.tail_quantile
        (self.med_a, self.med_b, self.p95_a, self.p95_b), (self.med, self.p95) = order_stats(
            x, sim.n_base, [(0.5, a), (0.5, b), (q, a), (q, b)], [0.5, q])
        del x
        self.errors = np.cumsum(rng.random((batch, nb)) < BASE_ERROR, axis=1)[:, sim.n_base - 1]
        cost = TIER_PRICES[rng.choice(3, size=(batch, nb), p=TIER_MIX)]
        upper = float(TIER_PRICES.max()) + 0.000002
        _, hi_a = bounded_mean_cs_path(cost, COST.alpha / 2, upper)
        lo_b, _ = bounded_mean_cs_path(cost, COST.beta / 2, upper)
        idx = sim.n_base - 1
        self.cost_hi_a, self.cost_lo_b = hi_a[:, idx], lo_b[:, idx]
        self.cost_mean = (np.cumsum(cost, axis=1)[:, idx]) / sim.n_base


JUDGE = JudgeConfig()
COST = CostConfig()


def _not_shown_worse(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The settle rule's 'never shown worse': an interval bounded on both sides that still reaches 0."""
    return np.isfinite(low) & np.isfinite(high) & (low <= 0)


def judge_canary(rng: np.random.Generator, sim: Sim, base: Baseline, batch: int, *, shift_ms: float = 0.0,
                 tail_fraction: float = 0.0, tail_ms: float = 150.0, error_add: float = 0.0,
                 cost_increase: float = 0.0, absolute: bool = False) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Verdicts (stages, looks) of every family for one canary scenario, and whether each
    family would settle at the last look: its estimate on the good side, or its interval never showing
    the canary worse (what `settle_at_max_duration` promotes)."""
    nc = int(sim.n_canary[-1])
    looks_n = sim.n_canary
    x = sim.latency(rng, (batch, nc)).astype(np.float64) + shift_ms
    if tail_fraction:
        x = x + np.where(rng.random((batch, nc)) < tail_fraction, tail_ms, 0.0)
    a, b = JUDGE.family_alpha / 2, JUDGE.beta / 2
    out: dict[str, np.ndarray] = {}
    lean: dict[str, np.ndarray] = {}
    enough = (looks_n >= JUDGE.min_samples) & (sim.n_base >= JUDGE.min_samples)

    def gate(v: np.ndarray, ok: np.ndarray) -> np.ndarray:  # too few samples: a PASS waits, a FAIL does not
        return np.where((v == PASS) & ~ok, UNDECIDED, v)

    tq = JUDGE.tail_quantile
    (med_a, med_b, p95_a, p95_b), _ = order_stats(x, looks_n, [(0.5, a), (0.5, b), (tq, a), (tq, b)], [])
    for name, q, (c_lo_a, _), (_, c_hi_b), pa, pb, point in (
        ("compare/latency", 0.5, med_a, med_b, base.med_a, base.med_b, base.med),
        ("compare/latency-p95", tq, p95_a, p95_b, base.p95_a, base.p95_b, base.p95),
    ):
        low = c_lo_a - pa[1]
        high = c_hi_b - pb[0]
        floor = np.maximum(JUDGE.latency_min_relative * point, JUDGE.latency_min_absolute_ms)
        out[name] = gate(three_way(low, high, floor), enough)
        last = point_quantile(x, looks_n[-1:], q)[:, 0]
        lean[name] = (last - point[:, -1] < floor[:, -1]) | _not_shown_worse(low[:, -1], high[:, -1])
    # errors
    rate = BASE_ERROR + error_add
    errs = np.cumsum(rng.random((batch, nc)) < rate, axis=1)[:, looks_n - 1]
    pa_, pb_ = prior(ERROR_PRIOR_MEAN)
    shape = errs.shape
    nb_grid = np.broadcast_to(sim.n_base, shape)
    nc_grid = np.broadcast_to(looks_n, shape)
    c_lo, _ = proportion_cs(errs.ravel(), nc_grid.ravel(), a, pa_, pb_)
    _, b_hi = proportion_cs(base.errors.ravel(), nb_grid.ravel(), a, pa_, pb_)
    _, c_hi_b = proportion_cs(errs.ravel(), nc_grid.ravel(), b, pa_, pb_)
    b_lo_b, _ = proportion_cs(base.errors.ravel(), nb_grid.ravel(), b, pa_, pb_)
    low = (c_lo - b_hi).reshape(shape)
    high = (c_hi_b - b_lo_b).reshape(shape)
    out["compare/errors"] = gate(three_way(low, high, JUDGE.error_min_increase), enough)
    lean["compare/errors"] = ((errs[:, -1] / looks_n[-1] - base.errors[:, -1] / sim.n_base[-1] < JUDGE.error_min_increase)
                              | _not_shown_worse(low[:, -1], high[:, -1]))
    # cost: the tier choice at equal cache state; an increase moves small prompts to the large tier
    mix = TIER_MIX.copy()
    moved = cost_increase * float(TIER_MIX @ TIER_PRICES) / float(TIER_PRICES[2] - TIER_PRICES[0])
    mix[0] -= moved
    mix[2] += moved
    cost = TIER_PRICES[rng.choice(3, size=(batch, nc), p=mix)]
    upper = float(TIER_PRICES.max()) + 0.000002
    c_lo_a, _ = bounded_mean_cs_path(cost, COST.alpha / 2, upper)
    _, c_hi_b = bounded_mean_cs_path(cost, COST.beta / 2, upper)
    idx = looks_n - 1
    with np.errstate(divide="ignore"):
        low = c_lo_a[:, idx] / base.cost_hi_a - 1.0
        high = np.where(base.cost_lo_b > 0, c_hi_b[:, idx] / base.cost_lo_b, np.inf) - 1.0
    enough_cost = (looks_n >= COST.min_requests) & (sim.n_base >= COST.min_requests)
    out["cost/per-request"] = gate(three_way(low, high, COST.max_increase, strict=False), enough_cost)
    lean["cost/per-request"] = ((cost.mean(axis=1) / base.cost_mean[:, -1] - 1.0 <= COST.max_increase)
                                | _not_shown_worse(low[:, -1], high[:, -1]))
    if absolute:  # the canary's own SLOs, with the truth exactly on the objective (worst case for a false FAIL)
        alpha = SLO_ALPHA / ABS_SLOS
        scale = 100.0 / TRUE_P95
        lo, hi = quantile_bounds(x * scale, looks_n, 0.95, alpha)
        v = three_way(lo, hi, 100.0)
        out["latency-p95 (canary, true p95 = 100 ms)"] = gate(v, looks_n >= DEFAULT_MIN_SAMPLES)
        e = np.cumsum(rng.random((batch, nc)) < 0.01, axis=1)[:, idx]
        lo, hi = proportion_cs(e.ravel(), nc_grid.ravel(), alpha, *prior(0.01))
        v = three_way(lo.reshape(shape), hi.reshape(shape), 0.01)
        out["error-ratio (canary, true ratio = 1 %)"] = gate(v, looks_n >= DEFAULT_MIN_SAMPLES)
        # the same SLOs on the healthy distribution itself (p95 94 ms, 0.2 % errors): how soon they PASS
        (bounds,), (p95_point,) = order_stats(x, looks_n, [(0.95, alpha)], [0.95])
        v = three_way(bounds[0], bounds[1], 100.0)
        out["latency-p95 (canary, healthy)"] = gate(v, looks_n >= DEFAULT_MIN_SAMPLES)
        lean["latency-p95 (canary, healthy)"] = p95_point[:, -1] < 100.0
        lo, hi = proportion_cs(errs.ravel(), nc_grid.ravel(), alpha, *prior(0.01))
        v = three_way(lo.reshape(shape), hi.reshape(shape), 0.01)
        out["error-ratio (canary, healthy)"] = gate(v, looks_n >= DEFAULT_MIN_SAMPLES)
        lean["error-ratio (canary, healthy)"] = errs[:, -1] / looks_n[-1] < 0.01
    return out, lean


TRUE_P95 = 0.0


def first(verdicts: np.ndarray, what: int) -> np.ndarray:
    """Index of the first look with `what` (a FAIL stops the stage; a PASS is kept), -1 if never."""
    hit = verdicts == what
    return np.where(hit.any(axis=1), hit.argmax(axis=1), -1)


def stops(verdicts: np.ndarray) -> np.ndarray:
    """Look at which the check first FAILs, -1 when it never does (what rolls a stage back)."""
    return first(verdicts, FAIL)


def upper95(k: int, n: int) -> float:
    return float(stats.beta.ppf(0.95, k + 1, n - k)) if k < n else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", type=int, default=2000, help="healthy stages simulated (A/A)")
    parser.add_argument("--power-stages", type=int, default=400, help="stages per effect size")
    parser.add_argument("--rps", type=float, default=200.0)
    parser.add_argument("--weight", type=float, default=10.0, help="canary share, percent")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between looks")
    parser.add_argument("--max-duration", type=float, default=180.0, help="stage max duration, seconds")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--samples", default="", help="resample latency from this samples file instead")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tail-min-relative", type=float, default=JudgeConfig.latency_min_relative,
                        help="what-if: the tail comparison's relative minimum effect")
    parser.add_argument("--no-power", action="store_true", help="A/A calibration only")
    args = parser.parse_args()
    global JUDGE
    if args.tail_min_relative != JUDGE.latency_min_relative:
        JUDGE = JudgeConfig(latency_min_relative=args.tail_min_relative)
        print(f"what-if: minimum effects at {args.tail_min_relative:.0%} of the baseline median/p95")
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    looks = np.arange(args.every, args.max_duration + 1e-9, args.every)
    route = args.rps * ROUTE_SHARE
    canary_rate, base_rate = route * args.weight / 100, route * (1 - args.weight / 100)
    latency = empirical(args.samples) if args.samples else mixture
    sim = Sim(args.stages, looks, np.maximum(1, np.floor(canary_rate * looks)).astype(int),
              np.maximum(1, np.floor(base_rate * looks)).astype(int), latency)
    global TRUE_P95
    TRUE_P95 = float(np.percentile(latency(np.random.default_rng(0), (2_000_000,)), 95))
    print(f"{args.rps:g} req/s, {args.weight:g} % canary: canary {canary_rate:.1f} route req/s, baseline "
          f"{base_rate:.1f}; a look every {args.every:g} s up to {args.max_duration:g} s ({len(looks)} looks)")
    print(f"healthy latency: median {float(np.median(latency(rng, (200_000,)))):.1f} ms, p95 {TRUE_P95:.1f} ms; "
          f"errors {BASE_ERROR:.1%}; cost/request {float(TIER_MIX @ TIER_PRICES) * 1e6:.0f} USD per million")
    print(f"α budget of a stage: comparisons {JUDGE.alpha:g} ({JUDGE.family_alpha:.3g} per family), cost {COST.alpha:g}, "
          f"absolute SLOs {SLO_ALPHA:g} per evaluate call ({SLO_ALPHA / ABS_SLOS:.2g} per check); "
          f"equivalence side β {JUDGE.beta:g}")

    # ---------------- A/A
    fails: dict[str, list[np.ndarray]] = {}
    passes: dict[str, list[np.ndarray]] = {}
    leans: dict[str, list[np.ndarray]] = {}
    batches = math.ceil(args.stages / args.batch)
    keep_base: list[Baseline] = []
    for i in range(batches):
        size = min(args.batch, args.stages - i * args.batch)
        base = Baseline(rng, sim, size, JUDGE)
        if len(keep_base) * args.batch < args.power_stages:
            keep_base.append(base)
        verdicts, lean = judge_canary(rng, sim, base, size, absolute=True)
        for name, v in verdicts.items():
            fails.setdefault(name, []).append(stops(v))
            passes.setdefault(name, []).append(first(v, PASS))
        for name, v in lean.items():
            leans.setdefault(name, []).append(v)
    n = args.stages
    print(f"\nA/A: {n} healthy stages, judged every {args.every:g} s (false FAIL = FAIL at any look)")
    print(f"{'check family':44} {'false FAIL':>12} {'95% upper':>10} {'α':>8}  {'PASS by 60 s':>12} {'by max':>7} "
          f"{'median t(PASS)':>15} {'PASS or settled':>16}")
    stage_fail = np.zeros(n, dtype=bool)
    comp_fail = np.zeros(n, dtype=bool)
    all_pass_at = np.zeros(n)
    promoted = np.ones(n, dtype=bool)
    promoted_all = np.ones(n, dtype=bool)
    budgets = {"compare/latency": JUDGE.family_alpha, "compare/latency-p95": JUDGE.family_alpha,
               "compare/errors": JUDGE.family_alpha, "cost/per-request": COST.alpha}
    for name in fails:
        f = np.concatenate(fails[name]) >= 0
        p = np.concatenate(passes[name])
        if name in leans:
            promoted_all &= ~f & ((p >= 0) | np.concatenate(leans[name]))
        stage_fail |= f
        if name in budgets:
            comp_fail |= f
            pass_time = np.where(p >= 0, looks[np.maximum(p, 0)], np.inf)
            all_pass_at = np.maximum(all_pass_at, pass_time)
            promoted &= ~f & ((p >= 0) | np.concatenate(leans[name]))
        alpha = budgets.get(name, SLO_ALPHA / ABS_SLOS)
        t = looks[p[p >= 0]]
        by60 = float(np.mean((p >= 0) & (looks[np.maximum(p, 0)] <= 60)))
        med = f"{np.median(t):.0f} s" if len(t) else "-"
        settled = f"{np.mean(~f & ((p >= 0) | np.concatenate(leans[name]))):16.1%}" if name in leans else f"{'-':>16}"
        print(f"{name:44} {f.sum():5d} ({f.mean():.2%}) {upper95(int(f.sum()), n):9.2%} {alpha:8.4f}  "
              f"{by60:12.0%} {np.mean(p >= 0):7.0%} {med:>15} {settled}")
    print(f"{'comparisons + cost (a healthy canary stage)':44} {comp_fail.sum():5d} ({comp_fail.mean():.2%}) "
          f"{upper95(int(comp_fail.sum()), n):9.2%} {JUDGE.alpha + COST.alpha:8.4f}  "
          f"{np.mean(all_pass_at <= 60):12.0%} {np.mean(np.isfinite(all_pass_at)):7.0%} "
          f"{(f'{np.median(all_pass_at[np.isfinite(all_pass_at)]):.0f} s' if np.isfinite(all_pass_at).any() else '-'):>15}")
    print(f"healthy stages promoted at the latest at {args.max_duration:g} s (proven PASS, or undecided and settled "
          f"as 'no regression found'): {promoted.mean():.1%} on the comparisons and cost, {promoted_all.mean():.1%} "
          f"with the canary's own latency and error SLOs too")
    print(f"{'whole stage, absolute SLOs on the line too':44} {stage_fail.sum():5d} ({stage_fail.mean():.2%}) "
          f"{upper95(int(stage_fail.sum()), n):9.2%} {JUDGE.alpha + COST.alpha + SLO_ALPHA:8.4f}")

    if args.no_power:
        print(f"\n{time.perf_counter() - started:.0f} s")
        return
    # ---------------- power
    print(f"\nPower at the {args.weight:g} % stage: P(rollback) within 60 s and within {args.max_duration:g} s, "
          f"median time to the rollback ({args.power_stages} stages per effect)")
    scenarios: list[tuple[str, str, list[tuple[str, dict[str, Any]]]]] = [
        ("latency shift (every request + X ms)", "compare/latency",
         [(f"+{d:g} ms", {"shift_ms": d}) for d in (2, 5, 6, 7.5, 10, 15, 25, 50)]),
        ("tail only (+150 ms on a share of requests)", "compare/latency-p95",
         [(f"{f:.1%} of requests", {"tail_fraction": f}) for f in (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)]),
        ("error ratio (0.2 % + X pp)", "compare/errors",
         [(f"+{e * 100:g} pp", {"error_add": e}) for e in (0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1)]),
        ("cost per request (tier choice)", "cost/per-request",
         [(f"+{c:.0%}", {"cost_increase": c}) for c in (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)]),
    ]
    for title, family, effects in scenarios:
        print(f"\n{title}: judged by {family}; any family rolling back counts")
        print(f"{'effect':22} {'P(rollback) 60 s':>17} {'P(rollback) max':>16} {'median t':>9}  {'by ' + family:>22}"
              f" {'P(promoted)':>12}")
        smallest = None
        for label, kwargs in effects:
            stop_any, stop_family, promote = [], [], []
            for base in keep_base:
                judged, lean = judge_canary(rng, sim, base, len(base.errors), **kwargs)
                ok = np.ones(len(base.errors), dtype=bool)
                for name, family_verdicts in judged.items():
                    ok &= (stops(family_verdicts) < 0) & ((first(family_verdicts, PASS) >= 0) | lean[name])
                promote.append(ok)
                s_f = stops(judged[family])
                every = np.stack([stops(x) for x in judged.values()])
                s_any = np.min(np.where(every >= 0, every, 10**9), axis=0)
                stop_any.append(np.where(s_any < 10**9, s_any, -1))
                stop_family.append(s_f)
            s = np.concatenate(stop_any)
            sf = np.concatenate(stop_family)
            hit = s >= 0
            times = looks[s[hit]]
            p60 = float(np.mean(hit & (looks[np.maximum(s, 0)] <= 60)))
            pmax = float(np.mean(hit))
            print(f"{label:22} {p60:17.1%} {pmax:16.1%} {(f'{np.median(times):.0f} s' if hit.any() else '-'):>9}  "
                  f"{np.mean(sf >= 0):22.1%} {np.mean(np.concatenate(promote)):12.1%}")
            if smallest is None and pmax >= 0.95:
                smallest = label
        print(f"smallest effect caught ≥ 95 % within {args.max_duration:g} s: {smallest or 'none of these'}")
    crosscheck(rng, sim)
    print(f"\n{time.perf_counter() - started:.0f} s")


def crosscheck(rng: np.random.Generator, sim: Sim) -> None:
    """Re-judge a few stages with the harness's own functions: the vectorised verdicts must agree."""
    from harness._verdicts import Verdict
    from harness.canary._judge import compare_errors, compare_latency, compare_latency_tail

    code = {Verdict.FAIL: FAIL, Verdict.PASS: PASS, Verdict.INCONCLUSIVE: UNDECIDED}
    # direct check on fresh arrays: same inputs to both implementations
    agree = total = 0
    for shift in (0.0, 7.5, 30.0):
        b = sim.latency(rng, (1, int(sim.n_base[-1]))).astype(np.float64)
        c = sim.latency(rng, (1, int(sim.n_canary[-1]))).astype(np.float64) + shift
        a_, b_ = JUDGE.family_alpha / 2, JUDGE.beta / 2
        for name, q, fn in (("compare/latency", 0.5, compare_latency),
                            ("compare/latency-p95", JUDGE.tail_quantile, compare_latency_tail)):
            c_lo_a, _ = quantile_bounds(c, sim.n_canary, q, a_)
            _, c_hi_b = quantile_bounds(c, sim.n_canary, q, b_)
            _, b_hi_a = quantile_bounds(b, sim.n_base, q, a_)
            b_lo_b, _ = quantile_bounds(b, sim.n_base, q, b_)
            point = point_quantile(b, sim.n_base, q)
            floor = np.maximum(JUDGE.latency_min_relative * point, JUDGE.latency_min_absolute_ms)
            vec = three_way(c_lo_a - b_hi_a, c_hi_b - b_lo_b, floor)[0]
            for j in range(9, len(sim.looks), max(1, len(sim.looks) // 6)):
                got = code[fn(b[0, : sim.n_base[j]], c[0, : sim.n_canary[j]], JUDGE).verdict]
                total += 1
                agree += int(got == vec[j])
        errs_b, errs_c = int(rng.integers(0, 40)), int(rng.integers(0, 40))
        nb, ncn = int(sim.n_base[-1]), int(sim.n_canary[-1])
        pa_, pb_ = prior(ERROR_PRIOR_MEAN)
        c_lo, _ = proportion_cs(errs_c, ncn, JUDGE.family_alpha / 2, pa_, pb_)
        _, b_hi = proportion_cs(errs_b, nb, JUDGE.family_alpha / 2, pa_, pb_)
        _, c_hi = proportion_cs(errs_c, ncn, JUDGE.beta / 2, pa_, pb_)
        b_lo, _ = proportion_cs(errs_b, nb, JUDGE.beta / 2, pa_, pb_)
        vec_e = three_way(c_lo - b_hi, c_hi - b_lo, JUDGE.error_min_increase)[0]
        total += 1
        agree += int(code[compare_errors(errs_b, nb, errs_c, ncn, JUDGE).verdict] == vec_e)
    print(f"\ncross-check against harness.canary._judge: {agree}/{total} verdicts agree")


if __name__ == "__main__":
    main()
