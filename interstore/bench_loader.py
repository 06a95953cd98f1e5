"""Finding the benchmarks for `interstore bench` (and the soak, `interstore soak`), only when
such a command runs.

The benchmarks are not part of the installed package (the wheel leaves ``benchmarks/`` out, and
nothing else imports them): they live in the source tree, next to the ``interstore`` package.
In an editable install (``pip install -e .``, ``make install``) that tree is the clone, so the
folder is found there; in a wheel install there is none, and the caller says so.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any


def source_root() -> Path:
    """The folder holding the ``interstore`` package (a clone's root in an editable install)."""
    return Path(__file__).resolve().parent.parent


def load_bench_app(name: str = "bench_app") -> Any | None:
    """``benchmarks.cli.<name>`` (a Typer app: ``bench_app``, ``soak_app``), or None if there
    are no benchmarks."""
    try:
        return getattr(importlib.import_module("benchmarks.cli"), name)
    except ModuleNotFoundError as exc:
        if exc.name not in ("benchmarks", "benchmarks.cli"):
            raise
    root = source_root()
    if not (root / "benchmarks" / "cli.py").is_file():
        return None
    sys.path.append(str(root))
    return getattr(importlib.import_module("benchmarks.cli"), name)
