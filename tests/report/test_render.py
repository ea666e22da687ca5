from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from harness.report import render_run


def test_the_run_and_stage_pages_show_the_verdict_every_check_and_svg_charts(make_run):
    run_dir, run = make_run(canary_median=70.0)
    render_run(run_dir)
    page = (run_dir / "index.html").read_text()
    assert "FAIL" in page and run.run_id in page
    stage_page = (run_dir / "stage-10" / "index.html").read_text()
    for check in run.stages[0].checks:
        assert check.name in stage_page
    assert stage_page.count("<svg") >= 7
    assert "<polyline" in stage_page and "win-fault" in stage_page


def test_reports_are_self_contained_and_escape_labels(make_run):
    run_dir, _ = make_run()
    render_run(run_dir)
    for page in run_dir.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), page
        assert "http://" not in text and "https://" not in text
        assert "<script" not in text  # the window label "<script>" is escaped
    assert "&lt;script&gt;" in (run_dir / "stage-10" / "index.html").read_text()


def test_junit_has_one_testcase_per_check_with_failures_and_inconclusive_as_errors(make_run):
    run_dir, run = make_run(canary_median=70.0)
    render_run(run_dir)
    root = ET.parse(run_dir / "stage-10" / "junit.xml").getroot()
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(run.stages[0].checks)
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert any(name.startswith("compare/latency") for name in failed)
    assert int(root.get("failures")) == len(failed)
    whole = ET.parse(run_dir / "junit.xml").getroot()
    assert len(whole.findall("./testsuite")) == len(run.stages)


def test_summary_md_names_the_failed_check_and_stays_small(make_run):
    run_dir, _ = make_run(canary_median=70.0)
    render_run(run_dir)
    md = (run_dir / "summary.md").read_text()
    assert "FAIL" in md and "compare/latency" in md and "rolled back" in md
    assert len(md.encode()) < 100_000


def test_rendering_needs_only_the_saved_json(make_run, tmp_path):
    run_dir, _ = make_run()
    render_run(run_dir)
    first = (run_dir / "index.html").read_text()
    (run_dir / "index.html").unlink()
    render_run(run_dir / "summary.json")
    assert (run_dir / "index.html").read_text() == first
