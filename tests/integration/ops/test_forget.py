"""``interstore forget user`` and ``inspect user`` on the real stack: the user is gone from
every tier, a live session ends without a flush, and neither a late event, the worker nor a
replay brings the data back."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from cassandra.cluster import Session

from core.settings import Settings
from tests.integration.ops.conftest import cold_rows, make_events, produce, replay_cli, totals
from tests.integration.worker.conftest import Pipeline, WorkerProcess, wait_for

StartWorker = Callable[[str], WorkerProcess]


def cli_json(pipeline: Pipeline, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "interstore.cli", *args, "--json"],
        env=pipeline.env, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return dict(orjson.loads(result.stdout))


def metric(worker: WorkerProcess, name: str) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=5).text
    except httpx.ConnectError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def event(kind: str, user: str, ts_ms: int, **fields: Any) -> tuple[str, dict[str, Any]]:
    record: dict[str, Any] = {"event_id": str(uuid.uuid4()), "user_id": user, "ts": ts_ms}
    if kind == "click":
        record |= {"product_id": "p1", "category_id": "c1", "surface": "home", "position": 1}
    return kind, record | fields


def user_rows(session: Session, keyspace: str, user: str) -> list[Any]:
    return [row for row in cold_rows(session, keyspace) if row[0] == user]


def test_forget_a_live_user_then_late_events_and_a_replay_leave_it_forgotten(
    settings: Settings, cql_session: Session, pipeline: Pipeline, start_worker: StartWorker
) -> None:
    history = make_events(2000, users=40, seed=21)
    user = history[-1][1]["user_id"]
    produce(settings, pipeline.events_topic, history)
    pipeline.env["INTERSTORE_SESSION_IDLE_S"] = "20"  # the user stays live while it is forgotten
    worker = start_worker("worker")
    expected = sum(1 for kind, _ in history if kind != "app_open")
    wait_for(
        lambda: len(cold_rows(cql_session, pipeline.keyspace)) >= expected,
        180, "the history in the cold tier", worker.assert_running,
    )  # fmt: skip
    now = int(time.time() * 1000)
    produce(
        settings,
        pipeline.events_topic,
        [event("app_open", user, now), event("click", user, now + 1)],
    )
    wait_for(
        lambda: cli_json(pipeline, "inspect", "user", user)["kinds"]["click"]["hot_newest_ms"]
        == now + 1,
        60, "the user live with its new click", worker.assert_running,
    )  # fmt: skip
    live = cli_json(pipeline, "inspect", "user", user)
    assert live["session"] is not None
    assert live["kinds"]["click"]["cold"] > 0
    others_before = [r for r in cold_rows(cql_session, pipeline.keyspace) if r[0] != user]

    report = cli_json(pipeline, "forget", "user", user, "--reason", "test request")
    assert report["was_live"] is True
    assert sum(report["cold_rows"].values()) > 0
    seen = cli_json(pipeline, "inspect", "user", user)
    assert seen["session"] is None
    assert all(k["hot"] == 0 and k["cold"] == 0 for k in seen["kinds"].values())
    assert seen["tombstone"]["reason"] == "test request"
    audit = cql_session.execute(f"SELECT action, user_id FROM {pipeline.keyspace}.audit_log").all()
    assert [(a.action, a.user_id) for a in audit] == [("forget_user", user)]

    # a late event (older than the tombstone) and a redelivery of old history: skipped
    late = [event("click", user, now - 60_000), *[e for e in history if e[1]["user_id"] == user]]
    marker = event("click", "marker-user", int(time.time() * 1000))
    produce(settings, pipeline.events_topic, [*late, marker])
    wait_for(
        lambda: user_rows(cql_session, pipeline.keyspace, "marker-user") != [],
        60, "the marker after the late events", worker.assert_running,
    )  # fmt: skip
    assert metric(worker, "interstore_forgotten_events_skipped_total") >= len(late)
    assert user_rows(cql_session, pipeline.keyspace, user) == []
    worker.stop()

    summary, _ = replay_cli(pipeline, "--from", "earliest")
    assert summary is not None
    assert totals(summary, "forgotten") >= len(late) + 2
    assert user_rows(cql_session, pipeline.keyspace, user) == []
    seen = cli_json(pipeline, "inspect", "user", user)
    assert all(k["hot"] == 0 and k["cold"] == 0 for k in seen["kinds"].values())
    assert seen["session"] is None
    others_after = [r for r in cold_rows(cql_session, pipeline.keyspace) if r[0] != user]
    assert [r for r in others_after if r[0] != "marker-user"] == others_before
