#!/usr/bin/env bash
# Repeatability of the rollout's verdicts: run the healthy canary and every
# defect profile N times and print each run's verdict, stage reached and the
# checks that failed. Expected: healthy → exit 0 (promoted to 100 %); every
# defect → exit 1, rolled back at the first (10 %) stage.
#
#   examples/ci/repeatability.sh [N=5] [extra rollout flags...]
#   e.g. examples/ci/repeatability.sh 5 --stage-duration 20s --warmup 5s --rps 100
set -uo pipefail
cd "$(dirname "$0")/../.."
n="${1:-5}"; shift || true
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(--stage-duration 20s --warmup 5s --rps 100)
out="${REPEAT_OUT:-reports/repeatability}"
bin=.venv/bin
for case in healthy latency errors slow-start memory-growth cors-wildcard breaker-off; do
  for i in $(seq 1 "$n"); do
    defect=(); [ "$case" != healthy ] && defect=(--canary-defect "$case")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    "$bin/harness" rollout "${flags[@]}" "${defect[@]}" --out "$out/$case" --no-live >"$out.$case.$i.log" 2>&1
    code=$?
    "$bin/python" - "$out/$case/latest/summary.json" "$case" "$i" "$code" "$load" <<'PY'
import json, sys
path, case, i, code, load = sys.argv[1:]
s = json.load(open(path))
failed = sorted({c["name"] for c in s["failed_checks"] if c["verdict"] == "fail"})
last = s["stages"][-1]["weight"] if s["stages"] else "-"
print(f"{case:14} run {i}  exit {code}  {s['verdict']:12} last stage {last:>3}  load {load}  failed: {', '.join(failed) or '-'}")
PY
  done
done
