"""Start-up time of the `harness` command line: --help, status, down, gate (target < 0.5 s each).

    .venv/bin/python bench/bench_cli.py                       # this checkout, 9 runs each
    .venv/bin/python bench/bench_cli.py --tree /tmp/old-tree  # the same commands from another checkout, interleaved

Each command runs as a fresh `python -m harness …` process with no platform up
and no reports (so `status`/`down` find nothing to do and `gate` finds no
summary): what is timed is the start-up, imports and argument parsing an SRE
waits for. With `--tree`, runs alternate between the trees so machine noise
hits both alike; medians and the ratio are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["status"], ["down"], ["gate"])


def _time(tree: Path, args: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # ahead of the editable install's finder
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tree", type=Path, action="append", default=[], help="another checkout to compare")
    args = parser.parse_args()
    trees = [ROOT, *args.tree]
    with tempfile.TemporaryDirectory() as empty:  # no state file, no reports
        for command in COMMANDS:
            times: dict[Path, list[float]] = {t: [] for t in trees}
            for _ in range(args.runs):
                for tree in trees:
                    times[tree].append(_time(tree, command, Path(empty)))
            line = "  ".join(f"{t.name}: {statistics.median(v) * 1000:6.0f} ms" for t, v in times.items())
            ratio = ""
            if len(trees) > 1:
                ratio = f"  ratio {statistics.median(times[ROOT]) / statistics.median(times[trees[1]]):.2f}"
            print(f"harness {' '.join(command):<8} {line}{ratio}", flush=True)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
