"""Every report kind in headless Chromium: no console errors, nothing wider than a 390 px phone.

Needs Debian's `chromium` (`.ci/run` installs it); skipped with that reason when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report import kinds
from tests.report.chromium import Chromium, executable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(executable() is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)"),
]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    built = kinds.build_all(tmp_path_factory.mktemp("kinds"))
    return sorted(p for run_dir in built.values() for p in run_dir.rglob("index.html"))


@pytest.fixture(scope="module")
def browser():
    with Chromium() as b:
        yield b


def test_every_report_kind_was_rendered(pages):
    assert len(pages) == 2 + 4 + 3 + 2  # failing: run + stage 10; passing: run + 3; inconclusive: run + 2; 2 game days
    assert {p.parent.name for p in pages} >= {"stage-10", "stage-50", "stage-100"}
    compared = [p for p in pages if 'id="comparison"' in p.read_text()]
    assert {p.parent.name for p in compared} == {kinds.FAILING_ID, kinds.GAMEDAY_FAIL_ID}  # checked at 390 px too


@pytest.mark.parametrize("width", [390, 1400])
def test_reports_load_without_console_errors_and_never_overflow_the_viewport(pages, browser, width):
    problems = []
    for page in pages:
        load = browser.load(page.as_uri(), width)
        if load.errors:
            problems.append(f"{page}: console errors {load.errors}")
        if load.scroll_width > width:
            problems.append(f"{page}: {load.scroll_width} px wide at {width} px: {load.wide}")
    assert not problems, "\n".join(problems)
