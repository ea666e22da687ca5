"""Build one revision into its own virtual environment, cached by its git tree.

A revision is built once per tree: `~/.cache/xynergy-harness/revisions/<key>/`
holds a venv with that tree's `xynergy` (and `harness`) installed, plus
`build.json`, written last, so a half-built directory is never reused. The
key hashes the tree id, the pyproject's hash, the interpreter version and the
build mode, so the same ref twice (or two refs with the same files) start in
well under a second.

Two build modes:

- **shared** (the default when the revision's declared dependencies are all
  satisfied by the harness's own environment): a venv without pip whose
  site-packages ends with the harness's (one `.pth` line), and the revision
  installed into it with `pip install --no-deps` (and `--no-build-isolation`
  when the harness's setuptools can build it). Its own
  code shadows the harness's copy (its site-packages comes first); nothing is
  downloaded; a build takes seconds. A revision that only changes code (the
  usual pull request) is built this way.
- **isolated** (a dependency is missing or of the wrong version — the pull
  request changed `pyproject.toml`): a venv of its own and a full `pip install`
  with dependencies, as CI would. Slower (minutes, needs the package index),
  and exact.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import site
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement

from harness.revisions._errors import RevisionBuildError, RevisionError
from harness.revisions._git import GitTree, export_tree, resolve_ref, snapshot_working_tree

__all__ = [
    "BuildMode", "RevisionBuild", "build_revision", "default_cache_dir", "prune_cache", "unsatisfied_dependencies",
]

BuildMode = Literal["shared", "isolated"]
_LAYOUT = "1"  # bump when the cache's layout changes


def default_cache_dir() -> Path:
    """`$XYNERGY_HARNESS_CACHE/revisions`, else `$XDG_CACHE_HOME` or `~/.cache`, `/xynergy-harness/revisions`."""
    if root := os.environ.get("XYNERGY_HARNESS_CACHE"):
        return Path(root) / "revisions"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xynergy-harness" / "revisions"


@dataclass(frozen=True)
class RevisionBuild:
    """One revision, built and ready to run: `build.argv("edge", "--port", "8080")`.

    Start its services with `argv(...)` and `environ(...)`, from a working
    directory outside the repository (the command also runs Python with `-P`
    so a `xynergy/` directory in the working directory is never imported).
    """

    label: str
    """`baseline` or `canary` (what `--revision` is set to)."""
    source: GitTree
    """Ref, commit, tree and dirty flag: what the report records."""
    venv: Path
    """The revision's virtual environment (inside the cache)."""
    mode: BuildMode
    reused: bool
    """True when the cache already had this tree (nothing was installed)."""
    seconds: float
    """Wall time of `build_revision` for this revision, cache look-up included."""
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return self.source.ref

    @property
    def commit(self) -> str:
        return self.source.commit

    @property
    def dirty(self) -> bool:
        return self.source.dirty

    @property
    def python(self) -> Path:
        """The revision's interpreter (a venv: not resolved, the symlink is what selects the venv)."""
        return self.venv / "bin" / "python"

    @property
    def command(self) -> tuple[str, ...]:
        """Prefix that runs this revision's platform: append `SERVICE --port N …`."""
        return (str(self.python), "-P", "-m", "xynergy")

    def argv(self, service: str, *args: str) -> list[str]:
        """The full command line of one service of this revision."""
        return [*self.command, service, *args]

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """`base` (default: this process's environment) made safe for this revision: no
        `PYTHONPATH`/`PYTHONHOME` leaking another checkout in, user site off, plus `extra_env`."""
        env = {k: v for k, v in (os.environ if base is None else base).items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update({"PYTHONSAFEPATH": "1", "PYTHONNOUSERSITE": "1", "VIRTUAL_ENV": str(self.venv)})
        env.update(self.extra_env)
        return env

    def record(self) -> dict[str, object]:
        """What a report stores about this revision (JSON-ready)."""
        return {
            "label": self.label, "ref": self.source.ref, "commit": self.source.commit, "tree": self.source.tree,
            "dirty": self.source.dirty, "mode": self.mode, "reused": self.reused, "build_seconds": round(self.seconds, 3),
        }


def unsatisfied_dependencies(pyproject: bytes) -> list[str]:
    """The revision's `[project].dependencies` this interpreter's environment does not satisfy
    (empty: a shared build is exact). Unreadable metadata counts as unsatisfied."""
    try:
        project = tomllib.loads(pyproject.decode()).get("project", {})
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ["pyproject.toml (unreadable)"]
    if "dependencies" in project.get("dynamic", []):
        return ["dynamic dependencies"]
    missing: list[str] = []
    for spec in project.get("dependencies", []):
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            missing.append(spec)
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(spec)
            continue
        if not req.specifier.contains(installed, prereleases=True):
            missing.append(f"{spec} (have {installed})")
    return missing


def _pyproject(repo: Path, tree: str) -> bytes:
    done = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "blob", f"{tree}:pyproject.toml"], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RevisionError(f"tree {tree[:12]} has no pyproject.toml: not a buildable revision", source=str(repo))
    return done.stdout


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per key across processes (two CI jobs on one cache, or baseline == canary)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_GENERIC = ("subprocess-exited-with-error", "metadata-generation-failed", "failed-wheel-build-for-install")


def _run_pip(args: list[str], what: str, log: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True, text=True, check=False,
    )
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        errors = [line for line in lines if line.lower().startswith("error:") and not line.endswith(_GENERIC)]
        reason = (errors or lines or [f"exit {done.returncode}"])[-1]
        raise RevisionBuildError(f"{what}: pip install failed: {reason} (full log: {log})")


def _builds_in_place() -> bool:
    """Can this environment build the project without pip fetching a build backend?
    (setuptools, plus `wheel` before setuptools 70.1 grew its own bdist_wheel)."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) if part.isdigit() else 0 for part in (version.split(".") + ["0"])[:2])
    if (major, minor) >= (70, 1):
        return True
    try:
        importlib.metadata.version("wheel")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _install(repo: Path, source: GitTree, dest: Path, mode: BuildMode) -> None:
    venv = dest / "venv"
    done = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RevisionBuildError(f"{source.short}: python -m venv failed: {done.stderr.strip()}")
    python = venv / "bin" / "python"
    if mode == "shared":
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        own = venv / "lib" / version / "site-packages"
        # Plain path lines: appended after the venv's own site-packages, and
        # the .pth files inside them (the harness's editable install) are not run.
        shared = list(site.getsitepackages())
        if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
            shared.append(site.getusersitepackages())  # a harness installed with pip --user
        (own / "_xynergy_harness_shared.pth").write_text("".join(f"{p}\n" for p in shared))
    src = dest / "src"
    export_tree(repo, source.tree, src)
    args = ["--python", str(python), "install", "--quiet", "--no-compile" if mode == "shared" else "--compile"]
    if mode == "shared":
        args.append("--no-deps")
        if _builds_in_place():
            args.append("--no-build-isolation")  # else pip fetches setuptools for the build (~5 s more)
    _run_pip([*args, str(src)], f"{source.ref} ({source.short})", dest / "pip.log")
    shutil.rmtree(src, ignore_errors=True)


def build_revision(
    repo: Path, ref: str | None, *, label: str, cache_dir: Path | None = None, mode: BuildMode | None = None
) -> RevisionBuild:
    """Build `ref` of `repo` (None: the working tree, dirty allowed) or reuse its cached build.

    **Parameters:**
    * **repo** - any directory inside the git repository.
    * **ref** - a commit-ish (`origin/main`, `HEAD~1`, a sha), or None for the working tree.
    * **label** - `baseline` or `canary`: recorded, and what `--revision` should say.
    * **cache_dir** - default `default_cache_dir()`.
    * **mode** - force `shared` or `isolated`; default: shared when the harness's environment
      satisfies the revision's dependencies.

    Raises `RevisionError` (bad ref/repo, one line) or `RevisionBuildError` (pip failed).
    """
    started = time.monotonic()
    repo = Path(repo)
    source = snapshot_working_tree(repo) if ref is None else resolve_ref(repo, ref)
    pyproject = _pyproject(repo, source.tree)
    if mode is None:
        mode = "isolated" if unsatisfied_dependencies(pyproject) else "shared"
    key_material = "\0".join((
        _LAYOUT, source.tree, hashlib.sha256(pyproject).hexdigest(), sys.version, mode,
        sys.prefix if mode == "shared" else "",
    ))
    key = hashlib.sha256(key_material.encode()).hexdigest()[:24]
    root = cache_dir if cache_dir is not None else default_cache_dir()
    dest = root / key
    marker = dest / "build.json"
    reused = True
    with _locked(root / f"{key}.lock"):
        if marker.is_file():
            os.utime(marker)  # last use: what prune_cache keeps by
        else:
            reused = False
            shutil.rmtree(dest, ignore_errors=True)  # a build that died half-way
            dest.mkdir(parents=True)
            _install(repo, source, dest, mode)
            marker.write_text(json.dumps({
                "tree": source.tree, "commit": source.commit, "mode": mode, "python": sys.version.split()[0],
                "built_at": time.time(), "build_seconds": round(time.monotonic() - started, 3),
            }, indent=1))
    return RevisionBuild(
        label=label, source=source, venv=dest / "venv", mode=mode, reused=reused,
        seconds=time.monotonic() - started, extra_env={"XYNERGY_REVISION_COMMIT": source.short},
    )


def prune_cache(cache_dir: Path | None = None, *, older_than_days: float = 14.0) -> list[Path]:
    """Remove builds not used for `older_than_days` (and half-built leftovers); return what went.

    Every base-branch commit a CI cache sees adds a build; this keeps it bounded.
    A build in use by a running rollout is skipped (its lock is held).
    """
    root = cache_dir if cache_dir is not None else default_cache_dir()
    if not root.is_dir():
        return []
    cutoff = time.time() - older_than_days * 86400
    removed: list[Path] = []
    for entry in sorted(p for p in root.iterdir() if p.is_dir()):
        lock = root / f"{entry.name}.lock"
        with open(lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            marker = entry / "build.json"
            if marker.is_file() and marker.stat().st_mtime >= cutoff:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        lock.unlink(missing_ok=True)
    return removed
