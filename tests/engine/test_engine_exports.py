from __future__ import annotations

import subprocess
import sys
import types

import harness.engine


def test_the_engine_package_exports_exactly_its_all() -> None:
    # dir(), not vars(): the package imports its names on first use (harness/_lazy.py)
    public = {n for n in dir(harness.engine) if not n.startswith("_") and n != "annotations"
              and not isinstance(getattr(harness.engine, n), types.ModuleType)}
    assert public == set(harness.engine.__all__)


def test_importing_the_engine_does_not_import_locust_or_touch_signal_handlers() -> None:
    code = ("import signal, sys; before = signal.getsignal(signal.SIGTERM); import harness.engine; "
            "print('locust' in sys.modules, signal.getsignal(signal.SIGTERM) is before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False True"
