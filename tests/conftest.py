"""Fixtures shared by the whole suite. Subsystem fixtures live beside their tests."""

from __future__ import annotations

import os

# Tests never import locust into this process (it gevent-patches everything);
# if something does by accident, at least do not patch.
os.environ.setdefault("LOCUST_SKIP_MONKEY_PATCH", "1")
