"""Package attributes imported on first use (PEP 562), so `harness --help` stays fast.

A package's `__init__` names what it exports and the submodule each comes
from; nothing is imported until a name is used. `harness status` or
`harness gate` then never pay for scipy, pandas or gRPC that only a run needs.
Type checkers see the same names through an `if TYPE_CHECKING:` import block.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`: exported name → the module that defines it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later look-ups are plain globals
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
