from __future__ import annotations

import subprocess
import sys

import harness
from harness.cli import main


def test_unknown_subcommand_is_one_line_and_exit_code_2(capsys):
    try:
        main(["no-such-command"])
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-command" in err[0]


def test_importing_harness_does_not_import_locust():
    code = "import harness, harness.cli, sys; harness.cli.build_parser(); print('locust' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_names_are_exactly_all_and_all_resolve():
    import types

    eager = {
        name
        for name, value in vars(harness).items()
        if not name.startswith("_") and name != "annotations" and not isinstance(value, types.ModuleType)
    }
    assert eager <= set(harness.__all__)
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name


def test_importing_harness_does_not_import_pandas_or_grpc():
    code = "import harness, sys; print(sorted(m for m in ('pandas', 'grpc', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
