"""`interstore bench`: loaded only when a bench command runs; every registered benchmark is a
command with its options; a clear error without the benchmarks."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.registry import BENCHMARKS
from interstore import bench_loader
from interstore.cli import app


def test_the_cli_starts_without_importing_the_benchmarks() -> None:
    code = "import sys, interstore.cli; print(any(m.startswith('benchmarks') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_bench_lists_every_registered_benchmark_and_keeps_their_options() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0, result.output
    for name in (*BENCHMARKS, "report", "all"):
        assert name in result.output
    ingest = CliRunner().invoke(app, ["bench", "ingest", "--help"])
    for option in ("--events", "--users", "--baseline-writes", "--worker-first", "--runs"):
        assert option in ingest.output


def test_every_registered_module_has_a_command_and_headlines() -> None:
    for module in BENCHMARKS.values():
        loaded = import_module(module)
        assert callable(loaded.command)
        assert loaded.HEADLINES


def test_bad_options_are_refused_before_anything_runs() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--runs", "0"])
    assert result.exit_code == 2


def test_without_the_benchmarks_folder_bench_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_loader, "source_root", lambda: tmp_path)
    monkeypatch.setitem(sys.modules, "benchmarks.cli", None)  # as if not importable
    result = CliRunner().invoke(app, ["bench", "ingest"])
    assert result.exit_code == 2
    assert "benchmarks are not installed" in result.output
