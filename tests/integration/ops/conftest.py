"""Ops test fixtures: the worker tests' pipeline (own topics, keyspace, Redis prefix per test),
producing, reading the cold tier user by user, and running ``interstore`` commands."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any

import orjson
from cassandra.cluster import Session

from core.settings import Settings
from interstore.demo_events import generate_events
from streams.producer import EventProducer
from tests.integration.worker.conftest import Pipeline
from tests.integration.worker.conftest import pipeline as pipeline  # fixtures, for the tests here
from tests.integration.worker.conftest import pipeline_redis as pipeline_redis
from tests.integration.worker.conftest import (  # a failure dumps the workers
    pytest_runtest_makereport as pytest_runtest_makereport,
)
from tests.integration.worker.conftest import start_worker as start_worker

Event = tuple[str, dict[str, Any]]
DAY_MS = 86_400_000


def make_events(count: int, users: int, seed: int, days_ago: float = 3) -> list[Event]:
    start = int(time.time() * 1000 - days_ago * DAY_MS)
    return list(generate_events(users=users, count=count, seed=seed, start_ms=start))


def produce(settings: Settings, topic: str, batch: Iterable[Event]) -> None:
    with EventProducer(settings.kafka, topic) as producer:
        for kind, record in batch:
            producer.send(kind, record)
        producer.flush(60)


def cold_rows(session: Session, keyspace: str) -> list[tuple[Any, ...]]:
    """Every row of the interactions table (duplicates included, if there were any)."""
    rows = session.execute(
        f"SELECT user_id, kind, event_id, ts, product_id, surface, position, quantity, price,"
        f" action FROM {keyspace}.interactions",
        timeout=60,
    )
    return sorted(tuple(row) for row in rows)


def replay_cli(
    pipeline: Pipeline, *args: str, timeout_s: float = 300
) -> tuple[dict[str, Any] | None, str]:
    """Run ``interstore replay ... --json``: (its JSON summary or None, its stderr)."""
    result = subprocess.run(
        [sys.executable, "-m", "interstore.cli", "replay", *args, "--json"],
        env=pipeline.env, capture_output=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, stderr[-3000:]
    out = result.stdout.decode().strip()
    return (orjson.loads(out.splitlines()[-1]) if out else None), stderr


def totals(summary: dict[str, Any], name: str) -> int:
    return sum(int(counts[name]) for counts in summary["kinds"].values())
