"""Other users' traffic at a steady rate, in a process of its own, while a benchmark measures
something else (``bench hydrate``, ``bench api``): interactions of ``users`` generated users
(``generate_events``, app_opens left out, so no background user starts a session)."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from benchmarks.harness.errors import BenchError
from core.clock import wall_clock_ms
from core.settings import KafkaSettings, Settings
from interstore.demo_events import generate_events
from schemas.codec import default_codec
from streams.outgoing import prepare_event
from streams.producer import EventProducer


def background_main(
    kafka: KafkaSettings, topic: str, rate: float, users: int, seed: int, produced: Any, stop: Any
) -> None:
    """Interactions at ``rate`` events/s until ``stop``; the count sent so far in ``produced``."""
    codec = default_codec()
    events = (
        (kind, record)
        for kind, record in generate_events(users, 10**9, seed, wall_clock_ms())
        if kind != "app_open"
    )
    with EventProducer(kafka, topic) as producer:
        started, sent = time.monotonic(), 0
        while not stop.is_set():
            due, ts = int((time.monotonic() - started) * rate), wall_clock_ms()
            while sent < due:
                kind, record = next(events)
                record["ts"] = ts
                producer.send_prepared(prepare_event(kind, record, now_ms=ts, codec=codec))
                sent += 1
            produced.value = sent
            time.sleep(0.005)


class Background:
    """``background_main`` in a spawned process while the ``with`` block runs."""

    def __init__(
        self, settings: Settings, topic: str, rate: float, users: int = 10_000, seed: int = 42
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.produced: Any = context.Value("q", 0, lock=False)
        self._stop = context.Event()
        args = (settings.kafka, topic, rate, users, seed, self.produced, self._stop)
        self._proc = context.Process(
            target=background_main, args=args, name="bench-background", daemon=True
        )

    def __enter__(self) -> Background:
        self._proc.start()
        self.started = time.monotonic()
        self.pid = self._proc.pid or 0
        return self

    def alive(self) -> None:
        if not self._proc.is_alive():
            raise BenchError(f"the background producer exited ({self._proc.exitcode})")

    def rate(self) -> float:
        """Events/s produced so far."""
        return int(self.produced.value) / (time.monotonic() - self.started)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._proc.join(timeout=60)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=10)
