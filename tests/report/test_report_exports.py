from __future__ import annotations

import types

import harness.report


def test_the_report_package_exports_exactly_its_all():
    # dir(), not vars(): the package imports its names on first use (harness/_lazy.py)
    public = {n for n in dir(harness.report) if not n.startswith("_") and n != "annotations"
              and not isinstance(getattr(harness.report, n), types.ModuleType)}
    assert public == set(harness.report.__all__)
