"""Errors of traffic routers: one line each, naming the service and what to fix.

    HarnessError
    └── RouterError               the router could not read or set the split (exit 2)
        ├── RouterPermissionDenied  the credentials may not read/update the service
        └── UnknownRevision         a baseline/canary revision is not one of the service's
"""

from __future__ import annotations

from harness._exceptions import HarnessError

__all__ = ["RouterError", "RouterPermissionDenied", "UnknownRevision"]


class RouterError(HarnessError):
    """Reading or changing a traffic split failed; nothing is judged on a split not in force."""


class RouterPermissionDenied(RouterError):
    """The credentials lack a permission; the message names the permissions needed."""


class UnknownRevision(RouterError):
    """A revision named for the rollout does not exist (the message lists the ones that do)."""
