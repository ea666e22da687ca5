"""Revisions from source: the baseline and the canary built from git refs, each in its own venv.

```python
baseline, canary = build_revisions(Path("."), baseline_ref=None, canary_ref=None)
# baseline: the merge base of HEAD with the default branch; canary: the working tree
subprocess.Popen(canary.argv("edge", "--port", "8081", "--revision", "canary"),
                 env=canary.environ(), cwd=some_dir_outside_the_repo)
```

The builds are cached by git tree (`default_cache_dir()`), so a second run of
the same refs starts in well under a second; see `_build` for the two build
modes and why the default shares the harness's installed dependencies.
"""

from __future__ import annotations

from pathlib import Path

from harness.revisions._build import (
    BuildMode,
    RevisionBuild,
    build_revision,
    default_cache_dir,
    prune_cache,
    unsatisfied_dependencies,
)
from harness.revisions._errors import RevisionBuildError, RevisionError
from harness.revisions._git import GitTree, default_baseline_ref, default_branch, resolve_ref, snapshot_working_tree

__all__ = [
    "BuildMode",
    "GitTree",
    "RevisionBuild",
    "RevisionBuildError",
    "RevisionError",
    "build_revision",
    "build_revisions",
    "default_baseline_ref",
    "default_branch",
    "default_cache_dir",
    "prune_cache",
    "resolve_ref",
    "snapshot_working_tree",
    "unsatisfied_dependencies",
]


def build_revisions(
    repo: Path, *, baseline_ref: str | None = None, canary_ref: str | None = None,
    cache_dir: Path | None = None,
) -> tuple[RevisionBuild, RevisionBuild]:  # fmt: skip
    """Build (or reuse) the two revisions of a rollout: `--baseline-ref` and `--canary-ref`.

    `baseline_ref=None` is the merge base of HEAD with the default branch
    (`origin/HEAD`, else `main`/`master`): the code a pull request is judged
    against. `canary_ref=None` is the working tree, uncommitted changes and new
    (not ignored) files included. Both are resolved before anything is built, so
    a bad ref fails in one line before a minute of pip.
    """
    base = baseline_ref if baseline_ref is not None else default_baseline_ref(repo)
    resolve_ref(repo, base)
    if canary_ref is not None:
        resolve_ref(repo, canary_ref)
    baseline = build_revision(repo, base, label="baseline", cache_dir=cache_dir)
    canary = build_revision(repo, canary_ref, label="canary", cache_dir=cache_dir)
    return baseline, canary
