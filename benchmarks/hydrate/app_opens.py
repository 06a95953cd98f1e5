"""App-opens as an app sends them, timed from outside the worker: one app_open per user at a
rate, each from its produce ack to the first poll of the hot tier that finds the user live (an
upper bound: Kafka's delivery, the fetch and the poll interval too).

The polls are the harness's own load on the box it measures: one script call per poll, one key
check per user still waiting. Every 2 ms whatever the number waiting, they grew with a worker
that fell behind (hundreds waiting: over 100,000 checks a second) and took CPU from it. So they
come every ``POLL_S``, or less often when many users wait: at most ``CHECKS_PER_S`` checks a
second. The longest pause between two polls is reported with the figures (the resolution).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, Message, Producer
from rich.console import Console

from benchmarks.harness.errors import BenchError
from benchmarks.harness.figures import progress
from benchmarks.harness.scratch import Scratch
from core.clock import wall_clock_ms
from core.settings import Settings
from schemas.codec import default_codec
from store.redis_hot import RedisHotStore
from streams.outgoing import prepare_event
from streams.producer import PRODUCER_CONFIG

LIVE_TIMEOUT_S = 120.0
POLL_S = 0.005
"""Pause between two polls of the hot tier for users not live yet (one round trip each)."""
CHECKS_PER_S = 10_000
"""Users checked per second at most: with more than ``POLL_S * CHECKS_PER_S`` waiting, the
pause grows with them (500 waiting: 50 ms)."""


def poll_pause_s(waiting: int) -> float:
    """The pause before the next poll of ``waiting`` users."""
    return max(POLL_S, waiting / CHECKS_PER_S)


async def open_apps(
    settings: Settings, scratch: Scratch, users: Sequence[str], rate: float,
    alive: Callable[[], None], console: Console,
) -> tuple[list[float], float]:  # fmt: skip
    """One app_open per user at ``rate``; seconds from each produce ack to the user live, and
    the longest pause between two polls (seconds)."""
    hot = RedisHotStore(
        settings.redis, settings.session, settings.retention, prefix=scratch.hot_prefix
    )
    config = {**PRODUCER_CONFIG, "bootstrap.servers": settings.kafka.bootstrap_servers}
    producer = Producer({**config, "linger.ms": 0, "client.id": "bench-app-opens"})
    codec, acked, live = default_codec(), dict[str, float](), dict[str, float]()
    failures: list[str] = []
    longest = 0.0

    def on_ack(user: str) -> Callable[[KafkaError | None, Message], None]:
        def ack(err: KafkaError | None, _: Message) -> None:
            if err is not None:
                failures.append(f"{user}: {err}")
            acked[user] = time.monotonic()

        return ack

    try:
        with progress(console, 34) as bar:
            task = bar.add_task("app_opens: users live", total=len(users))
            started, sent = time.monotonic(), 0
            while len(live) < len(users):
                now = time.monotonic()
                while sent < len(users) and now >= started + sent / rate:
                    user, ts = users[sent], wall_clock_ms()
                    record = {"event_id": f"{user}-open", "user_id": user, "ts": ts}
                    record |= {"app_version": "5.4.0", "platform": "ios"}
                    event = prepare_event("app_open", record, now_ms=ts, codec=codec)
                    producer.produce(
                        scratch.events_topic, event.value, event.key, on_delivery=on_ack(user)
                    )
                    sent += 1
                producer.poll(0)
                if failures:
                    raise BenchError(f"app_open not delivered: {failures[0]}")
                waiting = [user for user in acked if user not in live]
                if waiting:
                    found = await hot.live_users(waiting)
                    seen = time.monotonic()
                    live.update((user, seen) for user in found)
                    bar.update(task, completed=len(live))
                if sent == len(users) and now - started - sent / rate > LIVE_TIMEOUT_S:
                    raise BenchError(f"{len(users) - len(live)} users never went live")
                alive()
                pause = poll_pause_s(len(waiting))
                longest = max(longest, pause)
                await asyncio.sleep(pause)
    finally:
        producer.flush(10)
        await hot.close()
    return [live[user] - acked[user] for user in users], longest
