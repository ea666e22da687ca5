"""Real `harness rollout` runs in a row: verdicts, time to verdict, and what the machine was doing.

    .venv/bin/python bench/bench_rollouts.py --runs 5 --label healthy
    .venv/bin/python bench/bench_rollouts.py --runs 3 --label hog --hog
    .venv/bin/python bench/bench_rollouts.py --runs 1 --label latency -- --canary-defect latency
    .venv/bin/python bench/bench_rollouts.py --summarize bench-rollouts.jsonl

Each run is a full `harness rollout --no-live` (arguments after `--` are
passed on) with its reports in a temporary directory. One JSON line per run is
appended to `--log` (default `bench-rollouts.jsonl`): exit code, verdict,
per-stage verdict, judged seconds to the verdict, wall seconds, decision note, the checks that did not pass,
which Redis the revisions shared, and the load average before and after.
`--hog` keeps one core busy with `stress-ng --cpu 1` for the whole run.
`--summarize` prints, per label, the verdict counts and the median judged time
per stage, against the 60 s a fixed-length stage takes.

This is where the verdicts' real-run figures come from (docs/statistics.md):
healthy canaries must never be rolled back; planted regressions must never be
promoted; a starved machine may make a stage INCONCLUSIVE, naming the
saturation, but never FAIL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / ".venv" / "bin" / "harness"
FIXED_STAGE_S = 60.0


def _load() -> float:
    return os.getloadavg()[0]


def _stage_row(stage: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    detail = run_dir / stage.get("report", f"stage-{stage['weight']}/report.json")
    notes = stage.get("notes") or (json.loads(detail.read_text()).get("notes", []) if detail.is_file() else [])
    wall = (stage.get("ended_at") or 0.0) - (stage.get("started_at") or 0.0)
    not_passed = [
        f"{c['name']} {c['verdict']}: {c.get('detail', '')}"
        for group in ("checks", "comparisons", "cost")
        for c in stage.get(group, [])
        if c.get("verdict") != "pass"
    ]
    decided = next((n for n in notes if n.startswith("decided after")), "")
    health = next((c for c in stage.get("checks", []) if c.get("name") == "generator/health"), {})
    return {
        "weight": stage["weight"],
        "verdict": stage["verdict"],
        "wall_s": round(wall, 1),
        "judged_s": float(decided.split()[2]) if decided else None,  # None: ran to --max-stage-duration
        "decided": decided,
        "requests": stage.get("requests", {}),
        "not_passed": not_passed,
        # the host during the stage: busy share and PSI (share of time a runnable task waited for a CPU)
        "host_cpu_percent": (health.get("extra") or {}).get("cpu_percent"),
        "host_cpu_pressure": (health.get("extra") or {}).get("cpu_pressure"),
    }


def run_once(label: str, extra: list[str], hog: bool) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="bench-rollout-"))
    hog_proc = subprocess.Popen(["stress-ng", "--cpu", "1", "--quiet"]) if hog else None
    load_before = _load()
    started = time.monotonic()
    try:
        proc = subprocess.run([str(HARNESS), "rollout", "--no-live", "--out", str(out), *extra],
                              cwd=ROOT, capture_output=True, text=True)
    finally:
        if hog_proc is not None:
            hog_proc.terminate()
            hog_proc.wait()
    elapsed = time.monotonic() - started
    row: dict[str, Any] = {
        "label": label, "args": extra, "hog": hog, "exit_code": proc.returncode,
        "wall_s": round(elapsed, 1), "load_before": round(load_before, 2), "load_after": round(_load(), 2),
        "redis_server_on_path": shutil.which("redis-server") is not None,
    }
    summaries = sorted(out.glob("*/summary.json"))
    if not summaries:
        row.update(verdict="no report", tail=proc.stderr[-2000:] + proc.stdout[-2000:])
        return row
    summary = json.loads(summaries[-1].read_text())
    row.update(
        verdict=summary["verdict"], reason=summary.get("reason", ""), run_id=summary["run_id"],
        stages=[_stage_row(s, summaries[-1].parent) for s in summary.get("stages", [])],
        cache=[n for n in summary.get("run", {}).get("notes", []) if n.startswith("response cache")],
        report=str(summaries[-1].parent),
    )
    return row


def _judged(stage: dict[str, Any]) -> float:
    """Judged seconds to the stage's verdict: its early decision, else the full maximum duration."""
    judged = stage.get("judged_s")
    return FIXED_STAGE_S if judged is None else float(judged)


def _print_row(row: dict[str, Any]) -> None:
    def host(s: dict[str, Any]) -> str:
        psi = s.get("host_cpu_pressure")
        return "" if psi is None else f" (PSI {psi:.0f} %)"

    stages = "  ".join(f"{s['weight']}%:{s['verdict']}/{_judged(s):g}s{host(s)}" for s in row.get("stages", []))
    print(f"{row['label']:<14} exit {row['exit_code']}  {row['verdict']:<12} {row['wall_s']:>6.1f} s  "
          f"load {row['load_before']:.1f}→{row['load_after']:.1f}  {stages}", flush=True)
    for s in row.get("stages", []):
        for line in s["not_passed"]:
            print(f"    {s['weight']}%: {line}", flush=True)
    if row.get("reason"):
        print(f"    reason: {row['reason']}", flush=True)


def summarize(log: Path) -> None:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_label[row["label"]].append(row)
    for label, group in by_label.items():
        verdicts = defaultdict(int)
        for row in group:
            verdicts[row["verdict"]] += 1
        print(f"== {label}: {len(group)} runs, " + ", ".join(f"{v} {k}" for k, v in sorted(verdicts.items())))
        per_stage: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in group:
            for s in row.get("stages", []):
                per_stage[s["weight"]].append(s)
        for weight, stages in sorted(per_stage.items()):
            times = [_judged(s) for s in stages]
            med = statistics.median(times)
            walls = [s["wall_s"] for s in stages if "wall_s" in s]
            wall = f"; stage wall time median {statistics.median(walls):.1f} s (warm-up and start-up included)" if walls else ""
            print(f"   stage {weight:>3} %: median time to verdict {med:5.1f} s of judged time over {len(times)} "
                  f"(fixed: {FIXED_STAGE_S:g} s, ratio {med / FIXED_STAGE_S:.2f}); range {min(times):g}–{max(times):g} s{wall}")
        walls = [r["wall_s"] for r in group]
        print(f"   wall time per run: median {statistics.median(walls):.0f} s; "
              f"load before {min(r['load_before'] for r in group):.1f}–{max(r['load_before'] for r in group):.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--label", default="healthy")
    parser.add_argument("--hog", action="store_true", help="keep one core busy (stress-ng --cpu 1)")
    parser.add_argument("--log", type=Path, default=Path("bench-rollouts.jsonl"))
    parser.add_argument("--summarize", type=Path, metavar="LOG")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="-- then arguments for harness rollout")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return 0
    if args.hog and shutil.which("stress-ng") is None:
        print("bench_rollouts: --hog needs stress-ng on PATH", file=sys.stderr)
        return 2
    extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
    for _ in range(args.runs):
        row = run_once(args.label, extra, args.hog)
        _print_row(row)
        with args.log.open("a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
