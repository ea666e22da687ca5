"""Typed config from YAML: one safe reader, and every problem of a file at once.

Every config file the harness reads (SLOs, experiments, topologies, prices)
goes through `load_yaml` / `load_yaml_documents`, so they all read alike:

- YAML 1.2 booleans: only `true`/`false` (any case PyYAML knows) are booleans.
  YAML 1.1 also turns `on`, `off`, `yes`, `no`, `y`, `n` into booleans, so
  `redis: {mode: off}` arrived as `False` and the enum check refused it. Here
  those words stay strings; a boolean field given `yes` is refused by its
  loader with a one-line message instead of being silently accepted.
- hostile input is a one-line `ConfigError` subclass, never a traceback:
  non-UTF-8 bytes, nesting deeper than `MAX_DEPTH`, integers too long for
  Python's int parser, files larger than `MAX_BYTES`.
- `Problems` collects the errors of independent parts of a file (each action,
  check, service, document) so a loader reports all of them in one
  `ConfigError` (one line per problem, each naming file and field).

Why a custom `yaml.SafeLoader` and not pydantic models: the YAML 1.1 boolean
is decided by the YAML resolver, before any schema sees the value; a strict
pydantic `str` field would still receive `False` and reject `mode: off`. The
loaders keep their frozen dataclasses (the public result types other modules
use) and their exact messages; what they share lives here.

    data = load_yaml("harness/data/prices.yaml", error=ConfigError)
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor

from harness._exceptions import ConfigError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "Problems",
    "load_yaml",
    "load_yaml_documents",
    "parse_yaml_documents",
    "read_text",
    "short_repr",
    "yaml_files",
]

#: Config files are small; anything larger is refused before parsing.
MAX_BYTES = 10 * 2**20
#: Deepest nesting of mappings/sequences a config file may have.
MAX_DEPTH = 64

_BOOL = "tag:yaml.org,2002:bool"
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = _REPR.maxset = 4
_T = TypeVar("_T")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, a nesting limit and guarded integers."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:  # more digits than int() accepts (sys.get_int_max_str_digits)
        raise ConstructorError(None, None, "integer too large", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def read_text(path: str | Path, *, error: type[ConfigError] = ConfigError) -> str:
    """The file's text; unreadable, too large or non-UTF-8 → `error` naming the file."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror or exc}", source=source) from None
    if len(raw) > MAX_BYTES:
        raise error(f"larger than {MAX_BYTES // 2**20} MiB; not a config file", source=source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})", source=source) from None


def parse_yaml_documents(text: str, *, source: str, error: type[ConfigError] = ConfigError) -> list[Any]:
    """Every non-empty document in `text`, read with the harness's YAML rules."""
    try:
        loader = _Loader(text)
        try:
            docs: list[Any] = []
            while loader.check_data():  # type: ignore[no-untyped-call]
                doc = loader.get_data()
                if doc is not None:
                    docs.append(doc)
            return docs
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"not valid YAML: {problem}", source=source, field=where) from None
    except (RecursionError, MemoryError):
        raise error("not valid YAML: too deeply nested or too large", source=source) from None


def load_yaml_documents(path: str | Path, *, error: type[ConfigError] = ConfigError) -> list[Any]:
    """Every non-empty document of a YAML file (`---`-separated)."""
    return parse_yaml_documents(read_text(path, error=error), source=str(path), error=error)


def load_yaml(path: str | Path, *, error: type[ConfigError] = ConfigError) -> Any:
    """The single document of a YAML file (None when empty); several → `error`."""
    docs = load_yaml_documents(path, error=error)
    if len(docs) > 1:
        raise error(f"expected one YAML document, found {len(docs)}", source=str(path))
    return docs[0] if docs else None


def short_repr(value: object, limit: int = 60) -> str:
    """A bounded `repr` for one-line messages about hostile values.

    `reprlib` caps depth and items, so a YAML alias bomb (a list of lists of
    aliases) costs a few dozen steps here, not an exponential walk.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        return f"a {int(value.bit_length() * 0.30103) + 1}-digit number"
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def yaml_files(directory: Path) -> list[Path]:
    """`*.yaml` and `*.yml` in `directory`, any case (`.YAML` too), sorted by name."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml"))


class Problems:
    """Collects the errors of independent parts of a file, so all are reported at once.

        problems = Problems(ExperimentError)
        actions = [a for i, raw in enumerate(items) if (a := problems.attempt(parse_action, raw, i))]
        problems.raise_if_any()     # one ExperimentError listing every problem

    A part that fails contributes its error and `None`; the loader carries on
    with the parts that parsed, and raises before returning a result.
    """

    def __init__(self, error: type[ConfigError] = ConfigError) -> None:
        self.error = error
        self.errors: list[ConfigError] = []

    def __bool__(self) -> bool:
        return bool(self.errors)

    def add(self, exc: ConfigError) -> None:
        """Record an error (every problem it carries)."""
        self.errors.append(exc)

    def attempt(self, func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        """`func(*args, **kwargs)`, or None with its ConfigError recorded."""
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            self.add(exc)
            return None

    @contextmanager
    def part(self) -> Iterator[None]:
        """A block whose ConfigError is recorded instead of propagated."""
        try:
            yield
        except ConfigError as exc:
            self.add(exc)

    def raise_if_any(self) -> None:
        """Raise one `error` listing every recorded problem (nothing when none)."""
        if self.errors:
            raise self.error.combine(self.errors)

    def extend(self, errors: Sequence[ConfigError]) -> None:
        """Record several errors."""
        self.errors.extend(errors)
