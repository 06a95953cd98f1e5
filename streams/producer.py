"""``EventProducer``: what apps use to put events on the events topic.

    with EventProducer(settings.kafka, settings.topics.events) as producer:
        producer.send("click", {"event_id": ..., "user_id": ..., "ts": ..., ...})
    # leaving the block flushes; DeliveryFailed if any event was not delivered

- The same rules as the worker run before anything is sent: a bad event raises ``InvalidEvent``
  at the call site (see ``streams.outgoing``).
- Key = user id (UTF-8) through the murmur2 partitioner, the Java client's (and aiokafka's)
  hashing, so any client keyed the same way, in any language, agrees on a user's partition.
- Idempotent (``acks=all``, no duplicates or reordering from retries), batched and compressed.
- Every delivery report is counted; failures are kept with their reasons and surface from
  ``flush`` as ``DeliveryFailed``, never swallowed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import NamedTuple, Self

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from core.clock import wall_clock_ms
from core.errors import InterstoreError
from core.settings import KafkaSettings
from schemas.codec import Codec, Record, default_codec
from schemas.errors import SchemaError
from schemas.validation import DEFAULT_LIMITS, ValidationLimits
from streams.outgoing import OutgoingEvent, prepare_event
from streams.topics import partition_counts, require_topic

PRODUCER_CONFIG: dict[str, str | int | float | bool] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 20,
    "batch.num.messages": 10_000,
    "batch.size": 1_000_000,
    "compression.type": "lz4",
    "partitioner": "murmur2_random",
    "client.id": "interstore-producer",
}
POLL_EVERY = 64
"""Sends between two ``poll(0)`` calls, which run the delivery callbacks queued meanwhile."""
MAX_FAILURE_SAMPLES = 100


class DeliveryFailure(NamedTuple):
    topic: str
    partition: int | None
    """None or -1 when the message never got a partition (e.g. the topic vanished)."""
    key: str
    event_id: str | None
    reason: str
    """librdkafka's error name, e.g. ``_MSG_TIMED_OUT``, ``TOPIC_AUTHORIZATION_FAILED``."""
    message: str


@dataclass
class DeliveryReport:
    """Deliveries since the previous ``flush``; ``pending`` were still in flight at its end."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    samples: list[DeliveryFailure] = field(default_factory=list)
    """The first ``MAX_FAILURE_SAMPLES`` failures in full."""

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.pending == 0

    def describe(self) -> str:
        parts = []
        if self.failed:
            reasons = ", ".join(f"{name} x{count}" for name, count in self.reasons.most_common())
            first = self.samples[0]
            parts.append(
                f"{self.failed} of {self.sent} events failed delivery ({reasons}); first: "
                f"{first.topic}[{first.partition}] key {first.key} event {first.event_id}: "
                f"{first.message}"
            )
        if self.pending:
            parts.append(f"{self.pending} still undelivered when the flush timed out")
        return "; ".join(parts) or f"{self.delivered} events delivered"


class ProduceError(InterstoreError):
    """The producer itself failed (fatal idempotence error, closed producer, ...)."""


class DeliveryFailed(ProduceError):
    """Some events were not delivered; ``report`` says how many and why."""

    def __init__(self, report: DeliveryReport) -> None:
        super().__init__(report.describe())
        self.report = report


class EventProducer:
    """Validating, idempotent, batching producer of events to one topic (a context manager)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        *,
        codec: Codec | None = None,
        limits: ValidationLimits = DEFAULT_LIMITS,
        clock: Callable[[], int] = wall_clock_ms,
        config: Mapping[str, str | int | float | bool] | None = None,
        metadata_timeout_s: float = 10.0,
        close_timeout_s: float = 60.0,
    ) -> None:
        self.topic = topic
        self._codec = codec or default_codec()
        self._limits = limits
        self._clock = clock
        self._close_timeout_s = close_timeout_s
        self._window = DeliveryReport()
        self._unpolled = 0
        self._closed = False
        self._producer = Producer(
            {
                **PRODUCER_CONFIG,
                **(config or {}),
                "bootstrap.servers": kafka.bootstrap_servers,
                "on_delivery": self._on_delivery,
            }
        )
        # The broker would auto-create a missing topic with its default partition count.
        self.partitions = require_topic(partition_counts(self._producer, metadata_timeout_s), topic)

    def send(self, kind: str, record: Record) -> OutgoingEvent:
        """Validate, encode and enqueue one event; ``InvalidEvent`` before anything is sent."""
        event = prepare_event(
            kind, record, now_ms=self._clock(), codec=self._codec, limits=self._limits
        )
        self.send_prepared(event)
        return event

    def send_prepared(self, event: OutgoingEvent) -> None:
        """Enqueue an event already checked by ``prepare_event``; waits while the queue is full."""
        if self._closed:
            raise ProduceError("the producer is closed")
        while True:
            try:
                self._producer.produce(self.topic, value=event.value, key=event.key)
                break
            except BufferError:
                self._producer.poll(0.05)  # local queue full: serve reports until there is room
            except KafkaException as exc:
                raise ProduceError(f"cannot produce to {self.topic}: {exc.args[0]}") from exc
        self._window.sent += 1
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._unpolled = 0
            self._producer.poll(0)

    def flush(self, timeout_s: float = 30.0) -> DeliveryReport:
        """Wait for every delivery report; ``DeliveryFailed`` if any failed or is still pending.

        The report (returned, or on the exception) covers the events since the previous flush.
        """
        report = self._take_report(self._producer.flush(timeout_s))
        if not report.ok:
            raise DeliveryFailed(report)
        return report

    def _take_report(self, pending: int) -> DeliveryReport:
        report, self._window = self._window, DeliveryReport()
        report.pending = pending
        return report

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        window = self._window
        if err is None:
            window.delivered += 1
            return
        window.failed += 1
        window.reasons[err.name()] += 1
        if len(window.samples) < MAX_FAILURE_SAMPLES:
            window.samples.append(
                DeliveryFailure(
                    msg.topic() or self.topic,
                    msg.partition(),
                    (msg.key() or b"").decode("utf-8", "replace"),
                    self._event_id(msg.value()),
                    err.name(),
                    err.str(),
                )
            )

    def _event_id(self, value: bytes | None) -> str | None:
        try:
            return str(self._codec.decode(value or b"").record["event_id"])
        except (SchemaError, KeyError):
            return None

    def close(self) -> DeliveryReport:
        """Flush and refuse further sends (what leaving the ``with`` block does)."""
        self._closed = True
        return self.flush(self._close_timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Flush what was sent; on an exception, delivery problems are added to it as a note."""
        if self._closed:
            return
        if exc is None:
            self.close()
            return
        self._closed = True
        report = self._take_report(self._producer.flush(self._close_timeout_s))
        if not report.ok:
            exc.add_note(f"and at close: {report.describe()}")

    def __repr__(self) -> str:
        return f"EventProducer(topic={self.topic!r}, partitions={self.partitions})"
