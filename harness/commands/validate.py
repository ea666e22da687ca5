"""`harness validate`: check SLO files (and other registered kinds) before any run.

Every file is checked, and every problem of every file is reported (one line
each: `FILE: FIELD: PROBLEM`), not only the first; the exit code is 2 when
there is any. With `--topology FILE`, experiments are checked against that
topology's links and instances instead of the shipped one's.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from harness._config import Problems, load_yaml_documents, yaml_files
from harness._exceptions import ConfigError

__all__ = ["register", "validate_files"]

#: Modules that register validators for their own file kinds when imported.
_PLUGIN_MODULES = ("harness.topology", "harness.chaos", "harness.monitoring")
_SLO_KINDS = frozenset({"SLO", "SLI"})
_EXPERIMENT_KIND = "ChaosExperiment"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add `harness validate [--slo-dir DIR] [--topology FILE] FILES...`."""
    parser = subparsers.add_parser(
        "validate",
        help="check SLO files, chaos experiments and topologies without running anything",
        description="Validate files; every problem is printed as FILE: FIELD: PROBLEM and the exit code is 2.",
    )
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE", help="files or directories to check")
    parser.add_argument("--slo-dir", type=Path, default=None, metavar="DIR", help="also check every SLO file in DIR")
    parser.add_argument(
        "--topology", type=Path, default=None, metavar="FILE",
        help="check experiments against this topology's links and instances (default: the shipped topology)",
    )  # fmt: skip
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    paths = list(args.files) + ([args.slo_dir] if args.slo_dir is not None else [])
    if not paths and args.topology is None:
        raise ConfigError("give at least one FILE, --slo-dir or --topology", field="validate")
    for line in validate_files(paths, topology=args.topology):
        print(line)
    return 0


def _expand(paths: list[Path], problems: Problems) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = yaml_files(path)
            if not found:
                problems.add(ConfigError("no definitions found (no *.yaml or *.yml files)", source=str(path)))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.add(ConfigError("no such file or directory", source=str(path)))
    return files


def _first_document(path: Path) -> Mapping[str, Any]:
    docs = load_yaml_documents(path, error=ConfigError)
    if not docs or not isinstance(docs[0], Mapping):
        raise ConfigError("expected a YAML mapping", source=str(path))
    return docs[0]


def _topology_targets(topology: Path, problems: Problems) -> tuple[Collection[str], Collection[str]] | None:
    from harness.topology import load_topology

    topo = problems.attempt(load_topology, topology)
    if topo is None:
        return None
    processes = [inst.name for inst in topo.instances()]
    if topo.redis.mode in ("auto", "spawn"):
        processes.append("redis")
    return [link.name for link in topo.links()], processes


def validate_files(paths: list[Path], *, topology: Path | None = None) -> list[str]:
    """Validate each file by its kind; one `ok:` line per valid file.

    Every file is checked; when any has problems, one `ConfigError` listing
    all of them (one line each) is raised after the last file.
    """
    from harness.slo import file_validators, load_slos  # SLO parsing needs pandas: not for `--help`

    for module in _PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    validators = file_validators()
    problems = Problems(ConfigError)
    lines: list[str] = []
    targets = None
    if topology is not None:
        targets = _topology_targets(topology, problems)
        if targets is not None:
            lines.append(f"ok: {topology} (Topology)")
    files = _expand(paths, problems)
    slo_files: list[Path] = []
    experiments: list[Path] = []
    for path in files:
        doc = problems.attempt(_first_document, path)
        if doc is None:
            continue
        kind = doc.get("kind")
        if not isinstance(kind, (str, type(None))):
            problems.add(ConfigError(f"expected a string, got {type(kind).__name__}", source=str(path), field="kind"))
            continue
        if kind in _SLO_KINDS or (kind is None and "apiVersion" in doc):
            slo_files.append(path)
            continue
        validator = validators.get(str(kind)) if kind is not None else None
        if validator is None and kind is None:
            validator = next((v for v in validators.values() if v.detect is not None and v.detect(doc)), None)
        if validator is None:
            known = ", ".join(sorted(_SLO_KINDS | set(validators)))
            shown = repr(kind) if len(repr(kind)) <= 60 else repr(kind)[:57] + "..."
            problems.add(ConfigError(f"{shown} is not a kind harness validate knows ({known})", source=str(path), field="kind"))
            continue
        if topology is not None and validator.kind == _EXPERIMENT_KIND:
            experiments.append(path)  # checked below, against the given topology
            continue
        before = len(problems.errors)
        problems.attempt(validator.validate, path)
        if len(problems.errors) == before:
            lines.append(f"ok: {path} ({validator.kind})")
    slo_names: list[str] | None = None
    if slo_files:
        slos = problems.attempt(load_slos, slo_files)  # together, so indicatorRef may point across files
        if slos is not None:
            slo_names = [s.name for s in slos]
            for path in slo_files:
                names = [s.name for s in slos if s.source_file == str(path)]
                lines.append(f"ok: {path} (SLO: {', '.join(names) or 'SLI only'})")
    lines.extend(_validate_experiments(experiments, targets, slo_names, problems, topology))
    problems.raise_if_any()
    return lines


def _validate_experiments(
    experiments: list[Path],
    targets: tuple[Collection[str], Collection[str]] | None,
    slo_names: list[str] | None,
    problems: Problems,
    topology: Path | None = None,
) -> list[str]:
    from harness.chaos._ctk_gameday import is_ctk_file, validate_ctk_file
    from harness.chaos._loader import load_experiment
    from harness.slo import load_slos

    if not experiments:
        return []
    if slo_names is None and Path("slos").is_dir():
        slo_names = [s.name for s in problems.attempt(load_slos, Path("slos")) or []]
    links, processes = targets if targets is not None else (None, None)
    lines = []
    for path in experiments:
        before = len(problems.errors)
        if is_ctk_file(path):  # what `harness gameday --topology` checks before it starts
            problems.attempt(validate_ctk_file, path, topology)
            kind = "Chaos Toolkit experiment"
        else:
            problems.attempt(load_experiment, path, links=links, processes=processes, slos=slo_names)
            kind = _EXPERIMENT_KIND
        if len(problems.errors) == before:
            lines.append(f"ok: {path} ({kind})")
    return lines
