"""The flags every kind of run shares, declared once so `rollout` and `gameday` read alike."""

from __future__ import annotations

import argparse

from harness.engine._load import DEFAULT_LOCUSTFILE
from harness.slo import DEFAULT_MIN_SAMPLES

__all__ = ["add_run_arguments"]


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Platform, load and output flags: same names, metavars and defaults for every run."""
    p.add_argument("--topology", metavar="FILE", help="topology file (default: the packaged xynergy topology)")
    p.add_argument("--attach", metavar="STATE_FILE",
                   help="use the platform `harness up --detach` runs (its state file) instead of starting one")
    p.add_argument("--canary-defect", metavar="PROFILE", help="start the canary with a defect profile (xynergy.defects)")
    p.add_argument("--locustfile", metavar="FILE", default=str(DEFAULT_LOCUSTFILE),
                   help=f"Locust scenario (default: {DEFAULT_LOCUSTFILE})")
    p.add_argument("--scenario", dest="locustfile", help=argparse.SUPPRESS)  # the game day's former name
    p.add_argument("--users", type=int, default=0, metavar="N",
                   help="Locust users (default: 0, one per 10 req/s of --rps, 5 to 200)")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="Locust worker processes: a master and N local workers (default: 0, one process)")
    p.add_argument("--min-samples", type=int, default=DEFAULT_MIN_SAMPLES, metavar="N",
                   help=f"fewest samples an SLO verdict may rest on (default: {DEFAULT_MIN_SAMPLES})")
    p.add_argument("--slo-dir", default="slos", metavar="DIR", help="SLO files (default: slos/)")
    p.add_argument("--out", default="reports", metavar="DIR", help="report directory (default: reports/)")
    p.add_argument("--no-live", action="store_true", help="no live progress display (default: shown)")
