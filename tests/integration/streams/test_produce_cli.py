"""`interstore produce` as a user runs it: a subprocess, real topics, mixed good and bad lines."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from core.settings import Settings, TopicSettings
from schemas.codec import decode
from streams.topics import ensure_topics
from tests.integration.streams.kafka_reader import read_topic


def run_cli(topics: TopicSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "INTERSTORE_TOPICS_EVENTS": topics.events,
        "INTERSTORE_TOPICS_DEAD_LETTERS": topics.dead_letters,
    }
    return subprocess.run(
        [sys.executable, "-m", "interstore.cli", "produce", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def click(n: int, user: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "kind": "click",
        "event_id": f"click-{n}",
        "user_id": user,
        "ts": now - 60_000 + n,
        "product_id": f"p{n}",
        "category_id": "c1",
        "surface": "search",
        "position": n % 10,
        **changes,
    }


def test_good_lines_land_once_keyed_by_user_bad_lines_are_reported(
    settings: Settings, topic_settings: TopicSettings, tmp_path: Path
) -> None:
    ensure_topics(settings.kafka, topic_settings)
    users = [f"user-{i}" for i in range(7)]
    good = [click(n, users[n % len(users)]) for n in range(40)]
    good.append(
        {
            "kind": "order",
            "event_id": "order-1",
            "user_id": "user-1",
            "ts": "2025-06-15T10:00:00Z",
            "product_id": "p1",
            "category_id": "c1",
            "order_id": "o1",
            "quantity": 2,
            "price": "19.99",
            "currency": "EUR",
        }
    )
    lines = [orjson.dumps(event).decode() for event in good]
    lines.insert(3, orjson.dumps(click(100, "user-1", quantity=1)).decode())  # line 4
    lines.insert(10, "")  # line 11: blank, skipped
    lines.insert(20, '{"kind": "click", "event_id": ')  # line 21
    lines.insert(30, orjson.dumps(click(101, "user-2", ts=946_000_000_000)).decode())  # line 31
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")

    result = run_cli(topic_settings, str(path))

    assert result.returncode == 1, result.stderr
    rejected = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(rejected) == 3
    assert rejected[0] == "line 4: unknown_field: click has no field(s) quantity"
    assert rejected[1].startswith("line 21: invalid_json: not valid JSON: ")
    assert (
        rejected[2]
        == "line 31: ts_out_of_range: ts 946000000000 is before 946684800000 (2000-01-01)"
    )
    assert f"accepted {len(good)}, rejected 3, delivered {len(good)}, failed 0" in result.stdout

    messages = read_topic(settings.kafka, topic_settings.events)
    events = [decode(m.value() or b"") for m in messages]
    assert sorted(e.record["event_id"] for e in events) == sorted(e["event_id"] for e in good)
    partition_of: dict[bytes, set[int | None]] = {}
    for message, event in zip(messages, events, strict=True):
        assert message.key() == event.record["user_id"].encode()
        partition_of.setdefault(message.key() or b"", set()).add(message.partition())
    assert all(len(partitions) == 1 for partitions in partition_of.values())
    assert len(partition_of) == len(users)


def test_generated_traffic_is_delivered(settings: Settings, topic_settings: TopicSettings) -> None:
    ensure_topics(settings.kafka, topic_settings)
    result = run_cli(topic_settings, "--generate", "500", "--users", "20", "--seed", "5")
    assert result.returncode == 0, result.stderr
    assert "accepted 500, rejected 0, delivered 500, failed 0" in result.stdout
    assert "seed 5" in result.stdout
    messages = read_topic(settings.kafka, topic_settings.events)
    assert len({decode(m.value() or b"").record["event_id"] for m in messages}) == 500


def test_a_missing_topic_is_one_clear_error(
    settings: Settings, topic_settings: TopicSettings, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(orjson.dumps(click(1, "user-1")).decode() + "\n")
    result = run_cli(topic_settings, str(path))
    assert result.returncode == 1
    assert f"error: topic {topic_settings.events} does not exist" in result.stderr
    assert "Traceback" not in result.stderr
