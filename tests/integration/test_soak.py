"""`interstore soak --duration 2m`: the short soak (DESIGN 14). It owns what it breaks (a private
redis-server, a TCP proxy before the shared Cassandra, its own worker) and passes only if every
acknowledged event is stored exactly once and every poison record dead-lettered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.soak.plan import PHASES
from deploy.stack import LocalStack


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_short_soak_loses_nothing_doubles_nothing_and_dead_letters_the_poison(
    stack: LocalStack, tmp_path: Path
) -> None:
    output = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, "-m", "interstore.cli", "soak", "--duration", "2m", "--rate", "100",
         "--output", str(output)],
        capture_output=True, timeout=840, check=False,
    )  # fmt: skip
    log = (done.stdout + done.stderr).decode(errors="replace")[-6000:]
    assert done.returncode == 0, log
    result = json.loads(output.read_text())
    checks = result["checks"]
    assert checks["ok"], checks
    assert checks["good_events"] > 1000
    assert checks["poison_records"] == 60
    assert result["workers_started"] == 2  # the SIGKILLed one and its successor
    assert list(result["figures"]) == list(PHASES)
    for phase, figures in result["figures"].items():
        assert figures["requests"] > 0, phase
    assert result["figures"]["steady"]["error_rate"] == 0, result["figures"]["steady"]
