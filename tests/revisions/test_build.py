"""Two refs of this repository built into their own venvs, run side by side.

A temporary clone gets one commit that adds a 20 ms sleep to the
internal-ai-service's `GET /v1/models`. The canary (that commit) must be
slower by about that much and the baseline (its parent) must not; the
services are started from the clone's own directory, so a build that leaked
the working tree's `xynergy/` onto sys.path would make the baseline slow too.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.revisions import (
    RevisionBuild,
    RevisionError,
    build_revision,
    build_revisions,
    default_baseline_ref,
    prune_cache,
    snapshot_working_tree,
)
from harness.topology._process import free_port

REPO = Path(__file__).resolve().parents[2]
ROUTE_FILE = "xynergy/services/inference.py"
ROUTE = '    @router.get("/v1/models")\n    async def models() -> dict[str, object]:\n'
SLEEP = "        await asyncio.sleep(0.020)  # planted by tests/revisions\n"
KEY = "revisions-test-key"
GIT = ["git", "-c", "user.name=harness tests", "-c", "user.email=tests@example.invalid", "-c", "commit.gpgsign=false"]

pytestmark = pytest.mark.slow


def _git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository (HEAD = the baseline) plus one commit: the slow canary."""
    path = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(path)], check=True)
    # the default branch, whatever the source checkout was on (a CI checkout may be detached)
    _git(path, "update-ref", "refs/remotes/origin/base", "HEAD")
    _git(path, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/base")
    source = (path / ROUTE_FILE).read_text()
    assert ROUTE in source, "the route the test slows down moved: update ROUTE"
    (path / ROUTE_FILE).write_text(source.replace(ROUTE, ROUTE + SLEEP))
    _git(path, "commit", "--quiet", "-am", "internal-ai-service: 20 ms slower GET /v1/models")
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def builds(clone: Path, cache: Path) -> tuple[RevisionBuild, RevisionBuild]:
    return build_revisions(clone, baseline_ref="HEAD~1", canary_ref="HEAD", cache_dir=cache)


def _serve(build: RevisionBuild, cwd: Path) -> Iterator[str]:
    port = free_port()
    env = build.environ({**os.environ, "XYNERGY_API_KEYS": KEY})
    argv = build.argv("internal-ai-service", "--port", str(port), "--revision", build.label)
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"{build.label} exited: {proc.stderr.read().decode()[-500:]}"  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{build.label} never became ready"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _median_latency(url: str, n: int = 40) -> float:
    with httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=5) as client:
        client.get("/v1/models").raise_for_status()  # warm
        times = []
        for _ in range(n):
            start = time.perf_counter()
            client.get("/v1/models").raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_each_revision_runs_its_own_code_and_the_canary_route_is_20ms_slower(
    builds: tuple[RevisionBuild, RevisionBuild], clone: Path
) -> None:
    baseline, canary = builds
    assert (baseline.commit, canary.commit) == (_git(clone, "rev-parse", "HEAD~1"), _git(clone, "rev-parse", "HEAD"))
    assert not baseline.dirty and not canary.dirty
    assert baseline.venv != canary.venv
    medians = {}
    for build in builds:
        # cwd = the clone, whose xynergy/ is the canary's: -P must keep it off sys.path
        for url in _serve(build, cwd=clone):
            medians[build.label] = _median_latency(url)
    assert medians["canary"] >= 0.020, medians
    assert medians["canary"] - medians["baseline"] >= 0.012, medians  # the planted 20 ms, with a margin


def test_the_same_tree_twice_reuses_the_cached_build(
    builds: tuple[RevisionBuild, RevisionBuild], clone: Path, cache: Path
) -> None:
    _, canary = builds
    again = build_revision(clone, "HEAD", label="canary", cache_dir=cache)
    assert again.reused and again.venv == canary.venv
    # the clean working tree is the same tree as HEAD: the same build
    worktree = build_revision(clone, None, label="canary", cache_dir=cache)
    assert worktree.reused and worktree.venv == canary.venv and not worktree.dirty


def test_prune_removes_unused_builds_and_keeps_recent_ones(
    builds: tuple[RevisionBuild, RevisionBuild], cache: Path
) -> None:
    baseline, canary = builds
    old = time.time() - 30 * 86400
    os.utime(baseline.venv.parent / "build.json", (old, old))
    leftover = cache / "half-built"
    leftover.mkdir()
    removed = prune_cache(cache, older_than_days=14)
    assert sorted(removed) == sorted([baseline.venv.parent, leftover])
    assert canary.python.exists() and not baseline.venv.exists()


def test_the_working_tree_snapshot_includes_edits_and_new_files_and_leaves_the_index_alone(clone: Path) -> None:
    head_tree = _git(clone, "rev-parse", "HEAD^{tree}")
    (clone / "xynergy" / "_planted.py").write_text("X = 1\n")
    try:
        snap = snapshot_working_tree(clone)
        assert snap.dirty and snap.tree != head_tree and snap.commit == _git(clone, "rev-parse", "HEAD")
        assert "xynergy/_planted.py" in _git(clone, "ls-tree", "-r", "--name-only", snap.tree)
        assert _git(clone, "status", "--porcelain") == "?? xynergy/_planted.py"  # nothing staged
    finally:
        (clone / "xynergy" / "_planted.py").unlink()
    assert not snapshot_working_tree(clone).dirty


def test_the_default_baseline_is_the_merge_base_with_the_default_branch(clone: Path) -> None:
    # origin/HEAD -> origin/base, the commit before the canary's
    assert default_baseline_ref(clone) == _git(clone, "rev-parse", "HEAD~1")


def test_an_unknown_ref_is_one_line_naming_it(clone: Path, cache: Path) -> None:
    with pytest.raises(RevisionError) as err:
        build_revisions(clone, baseline_ref="no-such-branch", cache_dir=cache)
    assert "no-such-branch" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(RevisionError, match="unknown git ref '--help'"):
        build_revision(clone, "--help", label="canary", cache_dir=cache)
