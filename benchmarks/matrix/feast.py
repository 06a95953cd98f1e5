"""Feast's Python feature server for `interstore bench matrix`: feast (with its Redis online
store) in the benchmark's own virtualenv (``var/bench/feast-venv``, made with pip if missing),
a feature repository of the same three feature views, materialised with the same values
(``write_to_online_store``), served by ``feast serve`` (one worker, like the one API process).

Feast cannot derive a product's category inside a request, so its requests carry the
category ids (a pre-joined request: one call instead of interstore's two levels).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness.errors import BenchError
from benchmarks.matrix.data import GROUPS, Dataset

FEAST_REQUIREMENT = "feast[redis]==0.67.0"
PROJECT = "interstore_bench"
SETUP_SCRIPT = """
import json, sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64

repo, data = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
now = datetime.now(timezone.utc)
entities = {k: Entity(name=k.removesuffix("_id"), join_keys=[k], value_type=ValueType.STRING)
            for k in ("user_id", "product_id", "category_id")}
views = []
for group, table in data.items():
    frame = pd.DataFrame(table["rows"], columns=table["keys"] + table["features"])
    frame["event_timestamp"] = now
    parquet = repo / f"{group}.parquet"
    frame.head(1).to_parquet(parquet)
    source = FileSource(path=str(parquet), timestamp_field="event_timestamp")
    view = FeatureView(name=group, entities=[entities[k] for k in table["keys"]],
                       schema=[Field(name=f, dtype=Float64) for f in table["features"]],
                       source=source, online=True, ttl=timedelta(days=30))
    views.append((view, frame))
store = FeatureStore(repo_path=str(repo))
store.apply(list(entities.values()) + [v for v, _ in views])
for view, frame in views:
    for start in range(0, len(frame), 5000):
        store.write_to_online_store(view.name, frame.iloc[start:start + 5000])
print("materialised", sum(len(f) for _, f in views))
"""


def ensure_feast(venv: Path) -> Path:
    """The venv's python with feast installed (``pip install`` from PyPI on the first run)."""
    python = venv.absolute() / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(python), "-c", "import feast"], capture_output=True, check=False)
    if probe.returncode != 0:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", FEAST_REQUIREMENT],
            capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise BenchError(f"pip install {FEAST_REQUIREMENT} failed: {done.stderr[-2000:]}")
    return python


def feature_names() -> list[str]:
    return [f"{group}:{name}" for group, names in GROUPS.values() for name in names]


def request_body(data: Dataset, user: str, products: list[str]) -> dict[str, Any]:
    n = len(products)
    entities = {
        "user_id": [user] * n,
        "product_id": products,
        "category_id": [data.category_of[p] for p in products],
    }
    return {"features": feature_names(), "entities": entities, "full_feature_names": True}


def materialise(python: Path, repo: Path, data: Dataset, redis_port: int) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        f"project: {PROJECT}\nprovider: local\nregistry: {repo / 'registry.db'}\n"
        f"online_store:\n  type: redis\n  connection_string: 127.0.0.1:{redis_port}\n"
        "offline_store:\n  type: file\nentity_key_serialization_version: 3\n"
    )
    (repo / "data.json").write_text(json.dumps(data.feast_export()))
    (repo / "setup_feast.py").write_text(SETUP_SCRIPT)
    done = subprocess.run(
        [str(python), str(repo / "setup_feast.py"), str(repo), str(repo / "data.json")],
        capture_output=True, text=True, timeout=1800, check=False, cwd=repo,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"Feast materialisation failed: {done.stderr[-3000:]}")


@contextlib.contextmanager
def feast_server(python: Path, repo: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    feast = python.with_name("feast")
    log = (repo / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(feast), "serve", "-p", str(port), "--no-access-log", "-w", "1"],
        cwd=repo, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise BenchError(f"feast serve exited: {(repo / 'serve.log').read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise BenchError("feast serve did not answer /health within 120 s")
            time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def check_answer(port: int, data: Dataset, user: str, products: list[str]) -> None:
    """Feast answers the values interstore holds (the same numbers, materialised)."""
    answer = httpx.post(
        f"http://127.0.0.1:{port}/get-online-features",
        json=request_body(data, user, products), timeout=10,
    )  # fmt: skip
    answer.raise_for_status()
    found = answer.json()
    names = found["metadata"]["feature_names"]
    wanted = "product_stats__clicks_1h"
    column = names.index(wanted) if wanted in names else None
    expected = data.values[("product", (products[0],))][0]
    if column is None or found["results"][column]["values"][0] != expected:
        raise BenchError(f"Feast's answer does not hold the materialised values: {names}")
