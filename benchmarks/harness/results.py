"""The result file and the host it was measured on.

A result file is ``benchmarks/results/NAME.json``: ``{"name", "params", "figures", "baseline",
"ratio", "host"}`` (DESIGN 10): ``baseline`` is the raw-client floor measured in the same run and
``ratio`` the headline figure over the baseline's. A benchmark run ``--runs N`` times adds
``runs`` (each run's figures, baseline and ratio) and ``spread`` (``harness.repeat``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
RESULT_KEYS = ("name", "params", "figures", "baseline", "ratio", "host")

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class BenchResult:
    name: str
    params: Mapping[str, Any]
    figures: Mapping[str, Any]
    baseline: Mapping[str, Any]
    ratio: float
    host: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys after the documented six: ``runs`` and ``spread`` of repeated runs."""

    def to_json(self) -> Json:
        """The result file's content, keys in the documented order."""
        return {
            "name": self.name,
            "params": dict(self.params),
            "figures": dict(self.figures),
            "baseline": dict(self.baseline),
            "ratio": self.ratio,
            "host": dict(self.host),
            **self.extra,
        }


def result_path(name: str, directory: Path = RESULTS_DIR) -> Path:
    if not name.isidentifier():
        raise ValueError(f"benchmark name {name!r} is not a plain identifier")
    return directory / f"{name}.json"


def write_result(result: BenchResult, directory: Path = RESULTS_DIR) -> Path:
    """Write ``directory/NAME.json`` (replacing the previous run's) and return its path."""
    path = result_path(result.name, directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    tmp.replace(path)
    return path


def read_result(path: Path) -> Json:
    """A result file, checked for the documented top-level keys."""
    data: Json = json.loads(path.read_text())
    missing = [key for key in RESULT_KEYS if key not in data]
    if missing:
        raise ValueError(f"{path} lacks {missing}")
    return data


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def code_commit(checkout: Path = RESULTS_DIR.parent.parent) -> str | None:
    """The commit of the code measured (``git rev-parse --short HEAD`` of ``checkout``), with
    ``+changes`` when tracked files other than the result files differ from it; None outside a
    git checkout (an installed package)."""
    git = ["git", "-C", str(checkout)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "diff", "--quiet", "HEAD", "--", ".", ":(exclude)benchmarks/results"],
            capture_output=True, timeout=10,
        ).returncode  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if changed else "")


def host_info(**extra: Any) -> Json:
    """CPU, memory, Python, the load average, the time now and the commit measured
    (``code_commit``); ``extra`` adds service versions."""
    import psutil

    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_mib": psutil.virtual_memory().total // 2**20,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": load_average(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": code_commit(),
        **extra,
    }
