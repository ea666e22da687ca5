"""Every report kind says why: diagnosis card, objective lines, not-run stages, in HTML, summary.md and summary.json."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.report import kinds


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return kinds.build_all(tmp_path_factory.mktemp("kinds"))


def _page(run_dir: Path, sub: str = "") -> str:
    return (run_dir / sub / "index.html").read_text()


def _before(page: str, first: str, second: str) -> bool:
    return 0 <= page.find(first) < page.find(second)


def test_a_failing_stage_page_opens_with_the_diagnosis_card(built):
    page = _page(built["failing"], "stage-10")
    assert _before(page, 'class="diagnosis fail"', "Checks at a glance")
    card = page[page.find('class="diagnosis'):page.find("</section>")]
    # the relative cost change reads as an increase over the baseline, not as a cost
    assert "canary cost per request +108 % over baseline, allowed +10 %" in card
    assert "large-tier model calls 1 → 17" in card and "cache hit ratio 74.70 % → 69.40 %" in card
    assert "canary median latency +52.0 ms (+130 %) over baseline, allowed +5.0 ms" in card
    assert "POST /v1/route: p50 40.0 → 92.0 ms" in card  # the request name that moved
    assert "<svg" in card and 'class="obj"' in card and "win-judged" in card  # chart, objective, judged window
    assert "harness rollout --stages 10,50,100 --stage-duration 20s --warmup 5s --rps 100" in card
    assert "--canary-defect latency" in card


def test_the_run_page_of_a_failed_rollout_also_opens_with_the_diagnosis(built):
    page = _page(built["failing"])
    assert _before(page, 'class="diagnosis fail"', "<h2>Stages</h2>")
    # the card links to the check's anchor on the same page, and that anchor exists
    link = re.search(r'<p class="what">.*?href="#([^"]+)"', page, re.S)
    assert link and f'id="{link.group(1)}"' in page


def test_a_passing_run_has_no_diagnosis_card(built):
    assert 'class="diagnosis' not in _page(built["passing"])
    assert 'class="diagnosis' not in _page(built["passing"], "stage-100")


def test_an_inconclusive_stage_says_what_would_decide_it(built):
    page = _page(built["inconclusive"], "stage-50")
    assert 'class="diagnosis inconclusive"' in page
    assert "could not be decided: too few samples" in page and "about 100 samples would decide it" in page


@pytest.mark.parametrize("kind, not_run", [("failing", [50, 100]), ("inconclusive", [100]), ("passing", [])])
def test_stages_that_never_ran_are_shown_as_not_run_everywhere(built, kind, not_run):
    run_dir = built[kind]
    page = _page(run_dir)
    md = (run_dir / "summary.md").read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [s["weight"] for s in summary["stages_not_run"]] == not_run
    assert summary["planned_stages"] == [10, 50, 100]
    for weight in not_run:
        assert f"{weight} % · not run" in page  # the stepper
        assert re.search(rf"<tr class=\"notrun\"><td>{weight} %</td>", page)
        assert f"| {weight} % | ⏭️ not run |" in md
    assert page.count('class="notrun"') == len(not_run) * 2


def test_a_rolled_back_run_says_so_and_names_the_skipped_stages(built):
    md = (built["failing"] / "summary.md").read_text()
    assert "The canary was **rolled back to 0 %**; stages 50 %, 100 % did not run." in md
    assert "> ❌ canary cost per request +108 % over baseline, allowed +10 %" in md
    assert "[HTML report](index.html)" in md


def test_objective_lines_are_drawn_on_the_charts_they_judge(built):
    page = _page(built["passing"], "stage-10")
    assert "latency-p95 100 ms" in page  # the 100 ms line on the latency chart
    assert "error-ratio 1 %" in page  # the 1 % line on the error chart, in percent
    assert "objective 2 s" in page  # the cold-start objective on the bar chart
    assert 'class="bar-fail"' in page and "✗ over objective" in page  # the 2.6 s start is marked


def test_game_day_charts_mark_fault_start_failover_recovery_and_the_failover_limit(built):
    page = _page(built["gameday-pass"])
    for mark in ("mark-fault", "mark-failover", "mark-recovery"):
        assert mark in page
    assert "failover limit 30 s" in page and "failover 4.2 s" in page
    failed = _page(built["gameday-fail"])
    assert 'class="diagnosis fail"' in failed and "never happened, objective &lt; 30.00 s" in failed
    assert "harness gameday chaos/region-outage.yaml --rps 20 --duration 60s" in failed


def test_game_day_summary_md_has_the_rollouts_shape_and_escapes_names(built):
    md = (built["gameday-fail"] / "summary.md").read_text()
    assert md.startswith("## ❌ Game day FAIL")
    assert "### Checks that did not pass" in md and "| ❌ fail | **failover/region-outage**" in md
    assert "latency-p95 &lt;i&gt;" in md and "<i>" not in md  # a name is text, not HTML
    assert " lt " not in md and "&lt; 30.00 s" in md  # symbols, not raw operators
    assert "[HTML report](index.html)" in md


def test_every_page_has_a_per_request_table_and_links_to_its_artifacts(built):
    page = _page(built["failing"], "stage-10")
    assert "<th>failure messages</th>" in page and "503 http ×4" in page
    for href in ("../summary.json", "../summary.md", "report.json", "junit.xml", "../index.html"):
        assert f'href="{href}"' in page
    assert 'href="../stage-50/index.html"' not in page  # a stage that never ran has no page to link
    run_page = _page(built["passing"])
    assert 'href="stage-50/index.html"' in run_page and 'href="summary.json"' in run_page


def test_every_check_row_is_a_deep_link_target(built):
    page = _page(built["passing"], "stage-10")
    rows = re.findall(r'<tr class="(?:pass|fail|inconclusive)" id="(check-[a-z0-9-]+)">', page)
    assert len(rows) == len(set(rows)) == 6
    assert all(f'href="#{a}"' in page for a in rows)


def test_wide_tables_scroll_inside_a_wrapper(built):
    page = _page(built["failing"], "stage-10")
    assert page.count("<table>") == page.count('<div class="scroll"><table>')


def test_junit_class_names_are_the_same_for_every_run(built, tmp_path):
    again = kinds.rollout(tmp_path, "failing")
    names = []
    for run_dir in (built["failing"], again):
        root = ET.parse(run_dir / "junit.xml").getroot()
        names.append(sorted(c.get("classname") for c in root.iter("testcase")))
    assert names[0] == names[1] and all(n.startswith("rollout.stage-10.") for n in names[0])
    game = ET.parse(built["gameday-pass"] / "junit.xml").getroot()
    assert {c.get("classname").split(".")[1] for c in game.iter("testcase")} == {"region-outage"}


def _contrast(fg: str, bg: str) -> float:
    def lum(h: str) -> float:
        c = [int(h.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_verdict_colours_meet_wcag_aa_with_white_text(built):
    page = _page(built["passing"])
    colours = dict(re.findall(r"--(pass|fail|inc|mute):(#[0-9a-f]{6})", page))
    for name in ("pass", "fail", "inc"):
        assert _contrast("#ffffff", colours[name]) >= 4.5, name
    assert _contrast(colours["mute"], "#fff9db") >= 4.5  # muted text on an inconclusive row


def test_an_absolute_slo_is_driven_by_its_slowest_request_names_not_by_a_canary_comparison(built):
    from harness._verdicts import Check, Verdict
    from harness.report import load_result
    from harness.report._explain import drivers

    result = load_result(built["gameday-fail"])
    slow = Check("latency-p95", Verdict.FAIL, 120.0, 100.0, "lt", "ms", 1200, "revision=baseline", "slo")
    found = drivers(slow, result)
    assert found[0] == "POST /v1/route (baseline): p95 72.0 ms over 1620 requests"
    assert all("(baseline)" in line for line in found)
