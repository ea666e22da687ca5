from __future__ import annotations

import pytest

# The `toxiproxy` fixture these tests use is the suite's own (tests/conftest.py).
pytest.importorskip("chaoslib", reason="the Chaos Toolkit extension needs chaostoolkit-lib (test extras)")
