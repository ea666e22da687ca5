"""`harness validate`: check SLO files (and other registered kinds) before any run."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from harness._exceptions import ConfigError
from harness.slo import file_validators, load_slos

__all__ = ["register", "validate_files"]

#: Modules that register validators for their own file kinds when imported.
_PLUGIN_MODULES = ("harness.topology", "harness.chaos", "harness.monitoring")
_SLO_KINDS = frozenset({"SLO", "SLI"})


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add `harness validate [--slo-dir DIR] FILES...`."""
    parser = subparsers.add_parser(
        "validate",
        help="check SLO files (and chaos experiments) without running anything",
        description="Validate files; the first problem is printed as FILE: FIELD: PROBLEM and the exit code is 2.",
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="files or directories to check")
    parser.add_argument("--slo-dir", type=Path, default=None, help="also check every SLO file in DIR")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    paths = list(args.files) + ([args.slo_dir] if args.slo_dir is not None else [])
    if not paths:
        raise ConfigError("give at least one FILE or --slo-dir", field="validate")
    for line in validate_files(paths):
        print(line)
    return 0


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError("no such file or directory", source=str(path))
    return files


def _first_document(path: Path) -> Mapping[str, Any]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", source=str(path), field=where) from exc
    if not docs or not isinstance(docs[0], Mapping):
        raise ConfigError("expected a YAML mapping", source=str(path))
    return docs[0]


def validate_files(paths: list[Path]) -> list[str]:
    """Validate each file by its kind; returns one summary line per file, raises on the first problem."""
    for module in _PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    validators = file_validators()
    slo_files: list[Path] = []
    lines: list[str] = []
    for path in _expand(paths):
        doc = _first_document(path)
        kind = doc.get("kind")
        if kind in _SLO_KINDS or (kind is None and "apiVersion" in doc):
            slo_files.append(path)
            continue
        validator = validators.get(str(kind)) if kind is not None else None
        if validator is None and kind is None:
            validator = next((v for v in validators.values() if v.detect is not None and v.detect(doc)), None)
        if validator is None:
            known = ", ".join(sorted(_SLO_KINDS | set(validators)))
            raise ConfigError(f"{kind!r} is not a kind harness validate knows ({known})", source=str(path), field="kind")
        validator.validate(path)
        lines.append(f"ok: {path} ({validator.kind})")
    if slo_files:
        slos = load_slos(slo_files)  # together, so indicatorRef may point across files
        for path in slo_files:
            names = [s.name for s in slos if s.source_file == str(path)]
            lines.append(f"ok: {path} (SLO: {', '.join(names) or 'SLI only'})")
    return lines
