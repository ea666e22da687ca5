"""Public names of the load, samples and SLO packages: `__all__` is exactly what they export, and no locust."""

from __future__ import annotations

import subprocess
import sys

import pytest

import harness.load
import harness.samples
import harness.slo


@pytest.mark.parametrize("module", [harness.load, harness.samples, harness.slo], ids=lambda m: m.__name__)
def test_every_name_in_all_is_exported_and_every_public_name_is_in_all(module: object) -> None:
    names = set(module.__all__)  # type: ignore[attr-defined]
    assert all(hasattr(module, n) for n in names)
    public = {n for n in dir(module) if not n.startswith("_") and n not in ("annotations",)}
    imported_modules = {n for n in public if type(getattr(module, n)).__name__ == "module"}
    if module is harness.load or module is harness.slo:
        assert public - imported_modules == names


def test_the_orchestrator_side_never_imports_locust_or_gevent() -> None:
    code = ("import sys, harness.load, harness.slo, harness.samples, harness.commands.validate; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
