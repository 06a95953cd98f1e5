"""`interstore demo` end to end on the real stack: a short run with daemons of its own.

Everything the demo touches is this test's own: the var folder (pid files, logs, the demo key),
topics, consumer group, ports, keyspace and Redis key prefix, so the worker and API other
people run on this machine are neither reused nor stopped.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cassandra.cluster import Session

from core.settings import Settings, StackSettings
from deploy.app_processes import app_processes
from deploy.process import free_port, log_tail
from deploy.stack import LocalStack


@dataclass
class DemoRun:
    env: dict[str, str]
    var_dir: Path
    api_port: int
    tmp: Path

    def settings(self) -> Settings:
        return Settings(stack=StackSettings(var_dir=self.var_dir))

    def logs(self) -> str:
        settings = self.settings()
        return "\n".join(
            f"--- {process.name} log:\n{log_tail(process.log_file, 40)}"
            for process in app_processes(settings)
        )


@pytest.fixture
def demo_run(
    stack: LocalStack, keyspace: str, unique_name: str, tmp_path: Path
) -> Iterator[DemoRun]:
    var_dir = tmp_path / "var"
    api_port = free_port()
    env = {
        **os.environ,
        "INTERSTORE_STACK_VAR_DIR": str(var_dir),
        "INTERSTORE_TOPICS_EVENTS": f"{unique_name}.events",
        "INTERSTORE_TOPICS_DEAD_LETTERS": f"{unique_name}.dlq",
        "INTERSTORE_TOPICS_PARTITIONS": "4",
        "INTERSTORE_CASSANDRA_KEYSPACE": keyspace,
        "INTERSTORE_REDIS_KEY_PREFIX": unique_name,
        "INTERSTORE_WORKER_APP_ID": f"{unique_name}-worker",
        "INTERSTORE_WORKER_DATA_DIR": str(tmp_path / "worker-data"),
        "INTERSTORE_WORKER_WEB_PORT": str(free_port()),
        "INTERSTORE_WORKER_BATCH_WITHIN_S": "0.1",
        "INTERSTORE_WORKER_LOG_LEVEL": "warning",
        "INTERSTORE_API_PORT": str(api_port),
        "INTERSTORE_FEATURES_KEY_PREFIX": f"{unique_name}f",
        "INTERSTORE_FEATURES_WORKER_APP_ID": f"{unique_name}-features",
        "INTERSTORE_FEATURES_WORKER_DATA_DIR": str(tmp_path / "features-data"),
        "INTERSTORE_FEATURES_WORKER_WEB_PORT": str(free_port()),
        "INTERSTORE_FEATURES_WORKER_LOG_LEVEL": "warning",
    }
    run = DemoRun(env, var_dir, api_port, tmp_path)
    yield run
    settings = run.settings()
    for process in app_processes(settings):
        process.stop()


def last_figure(out: str, name: str) -> int:
    """The figure on the last plain progress line, e.g. ``dead letters: 2 (bad_magic 2)``."""
    found = re.findall(rf"{name}: ([\d,]+)", out)
    assert found, f"no '{name}' in the output:\n{out}"
    return int(found[-1].replace(",", ""))


def test_a_short_demo_runs_the_whole_system(demo_run: DemoRun, cql_session: Session) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "interstore.cli", "demo", "--duration", "8", "--rate", "200",
         "--users", "300", "--idle", "4", "--seed", "5"],
        env=demo_run.env, cwd=demo_run.tmp, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, f"{out}\n{result.stderr}\n{demo_run.logs()}"

    # The daemons were started by this run, with the demo's key, and keep running.
    assert "worker started" in out
    assert "API started" in out
    assert "features worker started" in out
    key_file = demo_run.var_dir / "api" / "demo.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert key not in out
    docs = f"http://127.0.0.1:{demo_run.api_port}/docs"
    assert f"API docs: {docs}" in out
    assert httpx.get(docs, timeout=5).status_code == 200

    # The plain progress lines (stdout is not a terminal): traffic, sessions, dead letters.
    assert "time: 0s of 8s, 8s left" in out
    assert re.search(r"time: \d+s: done", out), out
    produced = last_figure(out, "events")
    assert 1_000 < produced < 2_400  # about 200 events/s for 8 s
    assert re.search(rf"{produced:,} produced \(2 malformed\), {produced:,} consumed", out)
    assert last_figure(out, "hydrations") > 100
    assert last_figure(out, "sessions ended") > 0  # idle 4 s: early sessions end in the run
    assert last_figure(out, "dead letters") == 2

    # The sample ranker request: a curl that reads the key file, and the API's answer.
    assert "curl -s -X POST" in out
    assert f"$(cat {key_file.relative_to(demo_run.tmp)})" in out
    assert "answer (HTTP 200" in out
    sources = re.search(r"sources: (.*) \(hot", out)
    assert sources is not None, out
    assert sources.group(1).split(", ")[0] == "hot", out  # the user who sent the last event
    assert "cold" in sources.group(1)  # the user idle longest: its session was flushed

    # The live feature line, and the ranker's feature request for the products it saw clicked.
    lines = re.findall(r"features: top products by orders in 5m: (.*?); freshness p99 (\S+)", out)
    assert lines, out
    assert lines[-1][0] not in ("n/a", "no orders yet")  # read through the FeatureReader
    assert lines[-1][1].endswith("s")  # scraped from the features worker's histogram
    assert "then asks /v1/features:get" in out
    assert "features of the products they clicked" in out
    # The sample model ranks the sample user's clicked and popular products (:rank).
    assert re.search(r"home_ranker version [0-9a-f]{12}", out), out

    # What the flushes wrote is in this test's keyspace.
    keyspace = demo_run.env["INTERSTORE_CASSANDRA_KEYSPACE"]
    rows = cql_session.execute(f"SELECT count(*) FROM {keyspace}.interactions", timeout=60).one()
    assert rows is not None
    assert rows[0] > 0

    # `interstore stack down` (`make down`) stops every daemon the demo started. This run's var
    # folder holds no stack services, so the shared stack is left running.
    down = subprocess.run(
        [sys.executable, "-m", "interstore.cli", "stack", "down"],
        env=demo_run.env, cwd=demo_run.tmp, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert down.returncode == 0, f"{down.stdout}\n{down.stderr}"
    settings = demo_run.settings()
    for process in app_processes(settings):
        assert process.pid() is None, f"{process.name} still runs after stack down:\n{down.stdout}"
