"""The soak's end: every acknowledged interaction stored exactly once in the cold tier once the
sessions have flushed, nothing else stored, no session left dirty in the hot tier, and every
acknowledged poison record (and nothing else) on the dead-letter topic."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from cassandra.cluster import Session
from confluent_kafka import Consumer

from benchmarks.soak.traffic import Ledger, Position
from core.settings import KafkaSettings, Settings
from schemas.intake import HEADER_OFFSET, HEADER_PARTITION
from store.redis_hot import RedisHotStore


def stored_ids(session: Session, keyspace: str) -> list[str]:
    rows = session.execute(f"SELECT event_id FROM {keyspace}.interactions", timeout=120)  # noqa: S608
    return [row.event_id for row in rows]


async def dirty_sessions(settings: Settings, partitions: int) -> int:
    """Sessions of the soak's hot tier holding interactions not yet flushed to the cold tier
    (read through the hot store's own interface)."""
    hot = RedisHotStore(settings.redis, settings.session, settings.retention)
    try:
        sessions = await hot.sessions_of(range(partitions))
        users = [user for of in sessions.values() for user in of]
        return sum(1 for dirty in (await hot.dirty(users)).values() if dirty.interactions)
    finally:
        await hot.close()


def wait_drained(
    session: Session,
    keyspace: str,
    expected: set[str],
    hot: Callable[[], int],
    alive: Callable[[], None],
    timeout_s: float,
) -> float:
    """Until the cold tier holds every expected id and no session is dirty (or the time runs
    out); the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        alive()
        if expected <= set(stored_ids(session, keyspace)) and hot() == 0:
            break
        time.sleep(2)
    return time.monotonic() - started


def dead_letters(
    kafka: KafkaSettings, topic: str, expected: int, timeout_s: float
) -> list[Position]:
    """The source positions named by the dead-letter topic's records (duplicates kept)."""
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"soak-check-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    found: list[Position] = []
    deadline = time.monotonic() + timeout_s
    idle_until = 0.0
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=500, timeout=1.0)
            for message in batch:
                if message.error() is None:
                    headers: dict[str, Any] = dict(message.headers() or [])
                    found.append((int(headers[HEADER_PARTITION]), int(headers[HEADER_OFFSET])))
            if len(found) >= expected:
                idle_until = idle_until or time.monotonic() + 5  # a few more seconds: extras?
                if time.monotonic() > idle_until:
                    break
    finally:
        consumer.close()
    return found


def check(ledger: Ledger, stored: list[str], letters: list[Position], dirty: int) -> dict[str, Any]:
    """The verdict against the ledger, with samples of what is wrong."""
    counts = Counter(stored)
    good = set(ledger.good)
    missing = sorted(good - counts.keys())
    unexpected = sorted(counts.keys() - good)
    doubled = sorted(event for event, n in counts.items() if n > 1)
    lettered = Counter(letters)
    not_lettered = sorted(ledger.bad - lettered.keys())
    wrongly_lettered = sorted(lettered.keys() - ledger.bad)
    lettered_twice = sorted(p for p, n in lettered.items() if n > 1)
    ok = not (missing or unexpected or doubled or not_lettered or wrongly_lettered or dirty)
    return {
        "ok": ok,
        "good_events": len(good),
        "app_opens": ledger.app_opens,
        "poison_records": len(ledger.bad),
        "unacknowledged_by_kafka": ledger.unacknowledged,
        "stored_rows": len(stored),
        "missing": len(missing),
        "unexpected": len(unexpected),
        "stored_twice": len(doubled),
        "dead_letters": len(letters),
        "poison_not_dead_lettered": len(not_lettered),
        "good_dead_lettered": len(wrongly_lettered),
        "dead_lettered_twice": len(lettered_twice),
        "dirty_sessions_left": dirty,
        "samples": {
            "missing": missing[:5],
            "unexpected": unexpected[:5],
            "stored_twice": doubled[:5],
            "poison_not_dead_lettered": [list(p) for p in not_lettered[:5]],
        },
    }
