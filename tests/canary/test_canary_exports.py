from __future__ import annotations

import subprocess
import sys
import types

import harness.canary


def test_the_canary_package_exports_exactly_its_all():
    public = {n for n, v in vars(harness.canary).items() if not n.startswith("_") and n != "annotations"
              and not isinstance(v, types.ModuleType)}
    assert public == set(harness.canary.__all__)


def test_importing_the_rollout_and_reports_does_not_import_locust():
    code = "import sys, harness.canary, harness.report, harness.commands.rollout; print('locust' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
