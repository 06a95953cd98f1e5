"""The soak's producers and their ledger: what Kafka acknowledged, by event id (interactions
the cold tier must hold, once each) and by position (poison records the dead-letter topic must
hold). Records Kafka did not acknowledge are counted, not expected anywhere."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

from benchmarks.harness.records import HISTORY_MIX, interaction_record, pick_kind
from benchmarks.soak.plan import SoakParams
from core.clock import wall_clock_ms
from core.settings import KafkaSettings
from schemas.codec import default_codec
from streams.outgoing import prepare_event

OPEN_EVERY_MS = 20_000
"""A session user opens the app again when its last app_open is older than this."""
Position = tuple[int, int]


@dataclass
class Ledger:
    good: dict[str, str] = field(default_factory=dict)
    """Acknowledged interactions: event id -> kind."""
    app_opens: int = 0
    bad: set[Position] = field(default_factory=set)
    """Acknowledged poison records: (partition, offset)."""
    unacknowledged: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(
        self, event_id: str | None, kind: str
    ) -> Callable[[KafkaError | None, Message], None]:
        def report(err: KafkaError | None, msg: Message) -> None:
            with self.lock:
                if err is not None:
                    self.unacknowledged += 1
                elif event_id is None:
                    self.bad.add((int(msg.partition() or 0), int(msg.offset() or 0)))
                elif kind == "app_open":
                    self.app_opens += 1
                else:
                    self.good[event_id] = kind

        return report


def producer(kafka: KafkaSettings) -> Producer:
    return Producer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 20,
        }
    )


class Traffic(threading.Thread):
    """App-opens and interactions at ``params.rate`` until ``stop``."""

    def __init__(self, kafka: KafkaSettings, topic: str, params: SoakParams, ledger: Ledger):
        super().__init__(name="soak-traffic", daemon=True)
        self._producer = producer(kafka)
        self._topic = topic
        self._params = params
        self._ledger = ledger
        self._rng = random.Random(params.seed)
        self._codec = default_codec()
        self._last_open: dict[int, int] = {}
        self._next_id = 0
        self.stop = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None

    def users(self) -> list[str]:
        return [f"soak-u{n}" for n in range(self._params.users)]

    def run(self) -> None:
        try:
            started = time.monotonic()
            while not self.stop.is_set():
                due = int((time.monotonic() - started) * self._params.rate)
                while self.sent < due:
                    self._one()
                self._producer.poll(0)
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001 - reported by the soak
            self.error = exc
        finally:
            self._producer.flush(120)

    def _one(self) -> None:
        n = self._rng.randrange(self._params.users)
        user, now = f"soak-u{n}", wall_clock_ms()
        session_user = n < self._params.users * self._params.session_share
        if session_user and now - self._last_open.get(n, 0) > OPEN_EVERY_MS:
            self._last_open[n] = now
            record = {"event_id": self._event_id(), "user_id": user, "ts": now,
                      "app_version": "1.0.0", "platform": "android"}  # fmt: skip
            self._send("app_open", record, now)
        kind = pick_kind(self._rng, HISTORY_MIX)
        self._send(kind, interaction_record(kind, user, self._event_id(), now, self._rng), now)

    def _event_id(self) -> str:
        self._next_id += 1
        return f"soak-{self._params.seed}-{self._next_id}"

    def _send(self, kind: str, record: dict[str, object], now: int) -> None:
        event = prepare_event(kind, record, now_ms=now, codec=self._codec)
        report = self._ledger.delivered(event.event_id, kind)
        while True:
            try:
                self._producer.produce(self._topic, event.value, event.key, on_delivery=report)
                break
            except BufferError:
                self._producer.poll(0.05)
        self.sent += 1


def send_poison(kafka: KafkaSettings, topic: str, count: int, ledger: Ledger) -> None:
    """``count`` bad records, in turn: bytes no schema reads, a tombstone, an empty value, a valid
    event without a key, an event that fails validation (an empty user id)."""
    codec = default_codec()
    now = wall_clock_ms()
    valid = interaction_record("click", "soak-poison", "poison-keyless", now, random.Random(1))
    invalid = {**valid, "event_id": "poison-invalid", "user_id": ""}
    shapes: list[tuple[bytes | None, bytes | None]] = [
        (b"soak-poison", b"\x00not avro at all"),
        (b"soak-poison", None),
        (b"soak-poison", b""),
        (None, codec.encode("click", valid)),
        (b"soak-poison", codec.encode("click", invalid)),
    ]
    out = producer(kafka)
    for n in range(count):
        key, value = shapes[n % len(shapes)]
        out.produce(topic, value, key, on_delivery=ledger.delivered(None, "poison"))
    if out.flush(60):
        raise RuntimeError("poison records not acknowledged within 60 s")
