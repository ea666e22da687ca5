"""`python -m harness.revisions [--baseline-ref R] [--canary-ref R]`: build (or reuse) both revisions.

Prints one JSON line per revision (`RevisionBuild.record()` plus the command
that runs it) and exits 0, or one error line and exit 2. CI can run it in a
step of its own to warm the cache; it is also how build times are measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from harness._exceptions import HarnessError
from harness.revisions import build_revisions, prune_cache


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.revisions", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."), help="a directory in the git repository")
    parser.add_argument("--baseline-ref", default=None, help="default: merge base of HEAD with the default branch")
    parser.add_argument("--canary-ref", default=None, help="default: the working tree (dirty allowed)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: ~/.cache/xynergy-harness/revisions")
    parser.add_argument("--prune-days", type=float, default=None, metavar="DAYS",
                        help="first remove builds not used for DAYS days")
    args = parser.parse_args(argv)
    if args.prune_days is not None:
        for path in prune_cache(args.cache_dir, older_than_days=args.prune_days):
            print(f"pruned {path}", file=sys.stderr)
    try:
        builds = build_revisions(
            args.repo, baseline_ref=args.baseline_ref, canary_ref=args.canary_ref, cache_dir=args.cache_dir
        )
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    for build in builds:
        print(json.dumps({**build.record(), "command": list(build.command)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
