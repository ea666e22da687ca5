from __future__ import annotations

import types

import harness.report


def test_the_report_package_exports_exactly_its_all():
    public = {n for n, v in vars(harness.report).items() if not n.startswith("_") and n != "annotations"
              and not isinstance(v, types.ModuleType)}
    assert public == set(harness.report.__all__)
