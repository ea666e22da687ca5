"""Errors of building revisions (subclasses of the harness's tree, so the CLI prints one line).

    ConfigError
    └── RevisionError        a ref names nothing, no git, no default branch
    ProcessError
    └── RevisionBuildError   pip could not install a revision into its environment
"""

from __future__ import annotations

from harness._exceptions import ConfigError, ProcessError

__all__ = ["RevisionBuildError", "RevisionError"]


class RevisionError(ConfigError):
    """A ref or repository cannot be used (exit 2; the message names the ref)."""


class RevisionBuildError(ProcessError):
    """Installing a revision failed; the message ends with pip's last error line."""
