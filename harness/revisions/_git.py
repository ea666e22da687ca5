"""The git side of a revision: which tree a ref names, and its files on disk.

Everything here reads the user's repository and never changes what they see:
no checkout, no branch, no index or worktree entry. Snapshotting a dirty
working tree writes blobs and one tree object into `.git/objects` (as `git
stash create` does) through a throw-away index, nothing else.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.revisions._errors import RevisionError

__all__ = ["GitTree", "default_baseline_ref", "export_tree", "resolve_ref", "snapshot_working_tree"]


@dataclass(frozen=True)
class GitTree:
    """The content of one revision: a git tree, and the commit it came from."""

    ref: str
    """What the user asked for (`origin/main`, `HEAD~1`, or `working tree`)."""
    commit: str
    """Full commit id (for the working tree: HEAD's, the tree may differ from it)."""
    tree: str
    """Full tree id: the exact files that get built; the build cache's key."""
    dirty: bool
    """True when the working tree differs from `commit` (uncommitted changes, new files)."""

    @property
    def short(self) -> str:
        """`abc1234` or `abc1234+dirty`: what reports print."""
        return self.commit[:7] + ("+dirty" if self.dirty else "")


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False,
            env={**os.environ, **(env or {})},
        )
    except FileNotFoundError:
        raise RevisionError("git is not installed (needed to build revisions from refs)") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise RevisionError(f"git {' '.join(args[:2])}: {message}", source=str(repo))
    return done.stdout.strip()


def _toplevel(repo: Path) -> Path:
    if not repo.is_dir():
        raise RevisionError("no such directory", source=str(repo))
    return Path(_git(repo, "rev-parse", "--show-toplevel"))


def _verify(repo: Path, ref: str, kind: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{{kind}}}"],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RevisionError(f"unknown git ref {ref!r} (not a {kind} in this repository)", source=str(repo))
    return done.stdout.strip()


def default_branch(repo: Path) -> str:
    """`origin/HEAD`'s target if set (e.g. `origin/main`), else `main`, else `master`."""
    done = subprocess.run(
        ["git", "-C", str(repo), "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"],
        capture_output=True, text=True, check=False,
    )
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    for name in ("main", "master", "origin/main", "origin/master"):
        probe = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"],
            capture_output=True, check=False,
        )
        if probe.returncode == 0:
            return name
    raise RevisionError(
        "no default branch (no origin/HEAD, main or master): pass --baseline-ref", source=str(repo)
    )


def default_baseline_ref(repo: Path) -> str:
    """The merge base of HEAD with the default branch: what a pull request is judged against."""
    top = _toplevel(repo)
    branch = default_branch(top)
    return _git(top, "merge-base", "HEAD", branch)


def resolve_ref(repo: Path, ref: str) -> GitTree:
    """The commit and tree a ref names; `RevisionError` (one line) when it names nothing."""
    top = _toplevel(repo)
    if ref.startswith("-"):
        raise RevisionError(f"unknown git ref {ref!r}", source=str(top))
    commit = _verify(top, ref, "commit")
    return GitTree(ref=ref, commit=commit, tree=_verify(top, commit, "tree"), dirty=False)


def snapshot_working_tree(repo: Path) -> GitTree:
    """The working tree as a git tree: tracked files as they are on disk, plus untracked ones
    that `.gitignore` does not exclude (a new module in a pull request is part of it).

    Done through a temporary index file, so the user's index and stash are untouched.
    """
    top = _toplevel(repo)
    head = _verify(top, "HEAD", "commit")
    with tempfile.TemporaryDirectory(prefix="harness-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(top, "read-tree", "HEAD", env=env)
        _git(top, "add", "--all", "--", ".", env=env)
        tree = _git(top, "write-tree", env=env)
    return GitTree(ref="working tree", commit=head, tree=tree, dirty=tree != _verify(top, "HEAD", "tree"))


def export_tree(repo: Path, tree: str, dest: Path) -> None:
    """Write the files of `tree` under `dest` (`git archive`, so no checkout and no worktree entry)."""
    top = _toplevel(repo)
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["git", "-C", str(top), "archive", "--format=tar", tree], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
        archive.extractall(dest, filter="data")
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RevisionError(f"git archive {tree[:12]}: {err.decode(errors='replace').strip()}", source=str(top))
