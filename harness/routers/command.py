"""Command router: any platform whose traffic split a command line can set.

A template per weight, for example

    gcloud run services update-traffic {service} --region europe-west1 --to-revisions {canary}={percent},{baseline}={baseline_percent}
    kubectl argo rollouts set weight {service} {percent}

is split into words once (`shlex.split`), then each placeholder is filled in
*inside its own word* and the command runs without a shell: a value can never
become a second argument, let alone a second command. Values are also
restricted to name characters (letters, digits, `._-:/@`), so a template that
does run a shell (`sh -c '…{service}…'`) cannot be injected through a name
either. Placeholders: `{service}`, `{baseline}`, `{canary}`, `{percent}` (the
canary's share), `{baseline_percent}`.

The split found before the rollout is what `current_template` prints (an
integer, the canary's percent, as the last word of its output) or, without
one, `initial_percent` (default 0); `restore()` runs the template with it.
"""

from __future__ import annotations

import os
import re
import shlex
import string
import subprocess
from collections.abc import Mapping
from pathlib import Path

from harness.routers._base import TrafficSplit
from harness.routers._errors import RouterError

__all__ = ["CommandRouter", "PLACEHOLDERS"]

PLACEHOLDERS = frozenset({"service", "baseline", "canary", "percent", "baseline_percent"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]*")


def _words(template: str, flag: str) -> list[str]:
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise RouterError(f"{flag}: cannot split into words: {exc}") from None
    if not words:
        raise RouterError(f"{flag}: empty command")
    used = {field for word in words for _, field, _, _ in string.Formatter().parse(word) if field is not None}
    unknown = used - PLACEHOLDERS
    if unknown or "" in used:
        raise RouterError(f"{flag}: unknown placeholder {{{sorted(unknown)[0] if unknown else ''}}} "
                          f"(use {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})")
    return words


class CommandRouter:
    """Set the canary's share by running a command; `restore()` runs it with the share found first.

    **Parameters:**
    * **set_template** - the command per weight (`--router-command`); must use `{percent}`
      or `{baseline_percent}`.
    * **service**, **baseline**, **canary** - names filled into the template.
    * **current_template** - optional command printing the canary's current percent.
    * **initial_percent** - the share to restore when there is no `current_template`.
    * **timeout_s** - per command; **env** - extra environment variables for the commands.
    """

    def __init__(
        self, set_template: str, *, service: str, baseline: str = "baseline", canary: str = "canary",
        current_template: str | None = None, initial_percent: int = 0, timeout_s: float = 120.0,
        env: Mapping[str, str] | None = None, cwd: Path | None = None,
    ) -> None:  # fmt: skip
        self._set = _words(set_template, "--router-command")
        if not {"percent", "baseline_percent"} & {f for w in self._set for _, f, _, _ in string.Formatter().parse(w)}:
            raise RouterError("--router-command: the template never says the weight: use {percent}")
        self._current = _words(current_template, "--router-current-command") if current_template else None
        for what, value in (("service", service), ("baseline", baseline), ("canary", canary)):
            if not _NAME.fullmatch(value):
                raise RouterError(f"router {what} name {value!r}: only letters, digits and ._-:/@ are allowed "
                                  "(it is put into a command line)")
        if not 0 <= initial_percent <= 100:
            raise RouterError(f"router initial percent must be 0-100, got {initial_percent}")
        self.service, self.baseline, self.canary = service, baseline, canary
        self._initial = initial_percent
        self._timeout_s = timeout_s
        self._env = {**os.environ, **(env or {})}
        self._cwd = cwd
        self._original: int | None = None
        self._state: int | None = None
        self._changed = False

    def describe(self) -> str:
        return f"command router for {self.service}: {shlex.join(self._set)}"

    def argv(self, percent: int) -> list[str]:
        """The command line that sets `percent` (each word filled in on its own, never re-split)."""
        return self._fill(self._set, percent)

    def _fill(self, words: list[str], percent: int) -> list[str]:
        values = {"service": self.service, "baseline": self.baseline, "canary": self.canary,
                  "percent": str(percent), "baseline_percent": str(100 - percent)}
        return [word.format_map(values) for word in words]

    def current(self) -> TrafficSplit:
        percent = self._read_current()
        if self._original is None:
            self._original = percent
        return TrafficSplit(self.service, self.baseline, self.canary, percent)

    def set_canary_percent(self, percent: int) -> TrafficSplit:
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise RouterError(f"{self.service}: canary percent must be an integer 0-100, got {percent!r}")
        if self._original is None:
            self._original = self._read_current()
        self._changed = True
        self._run(self.argv(percent), f"set the canary to {percent} %")
        self._state = percent
        return self.current()

    def restore(self) -> None:
        if not self._changed or self._original is None:
            return
        self._run(self.argv(self._original), f"restore the canary to {self._original} %")
        self._state = self._original
        self._changed = False

    def _read_current(self) -> int:
        if self._current is None:
            return self._state if self._state is not None else self._initial
        # {percent} in a current-command means the last one set (0 before any)
        out = self._run(self._fill(self._current, self._state or 0), "read the current split")
        words = out.replace("%", " ").split()
        try:
            value = int(words[-1])
        except (IndexError, ValueError):
            raise RouterError(f"--router-current-command: expected the canary's percent as the last word of "
                              f"its output, got {out.strip()[-80:]!r}") from None
        if not 0 <= value <= 100:
            raise RouterError(f"--router-current-command: percent out of range: {value}")
        return value

    def _run(self, argv: list[str], what: str) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self._timeout_s, env=self._env,
                                  cwd=self._cwd, stdin=subprocess.DEVNULL, check=False)
        except FileNotFoundError:
            raise RouterError(f"{self.service}: cannot {what}: command not found: {argv[0]}") from None
        except subprocess.TimeoutExpired:
            raise RouterError(f"{self.service}: cannot {what}: {argv[0]} still running after "
                              f"{self._timeout_s:g} s (killed)") from None
        if done.returncode != 0:
            lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            raise RouterError(f"{self.service}: cannot {what}: {argv[0]} exited {done.returncode}"
                              f"{': ' + lines[-1] if lines else ''}")
        return done.stdout
