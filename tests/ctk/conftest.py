from __future__ import annotations

import socket

import pytest

pytest.importorskip("chaoslib", reason="the Chaos Toolkit extension needs chaostoolkit-lib (test extras)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
