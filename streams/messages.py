"""A consumed Kafka message as the pipeline sees it: bytes, where and when they came in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    consumed_s: float | None = None
    """When the worker's agent took it from Faust (``time.monotonic``; Faust's "message in")."""
    timestamp_ms: float | None = None
    """The record's Kafka timestamp (the producer's create time: epoch ms)."""

    @property
    def where(self) -> str:
        """``topic[partition]@offset``: how every pipeline log names a message."""
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @classmethod
    def from_faust(cls, message: Any) -> RawMessage:
        """From a ``faust.types.Message`` (topic, partition, offset, key, value)."""
        value = message.value
        return cls(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=value if isinstance(value, bytes) else bytes(value or b""),
            consumed_s=getattr(message, "time_in", None),
            timestamp_ms=_epoch_ms(getattr(message, "timestamp", None)),
        )


def fills_next_batch(highwater: int | None, offset: int, batch_max: int, partitions: int) -> bool:
    """Whether a partition's backlog past ``offset`` alone would fill the next batch at once
    (its share of ``batch_max`` among the ``partitions`` held): the worker is behind on it."""
    return highwater is not None and highwater - offset > batch_max / max(1, partitions)


def _epoch_ms(timestamp: Any) -> float | None:
    """Faust gives a record's timestamp in epoch seconds (a float)."""
    return None if timestamp is None else float(timestamp) * 1000.0


class Consumed(Protocol):
    """What ``seen`` needs of a message: a Faust message or a RawMessage."""

    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def raw(message: Consumed) -> RawMessage:
    """The message as a ``RawMessage`` (a Faust message is converted)."""
    return message if isinstance(message, RawMessage) else RawMessage.from_faust(message)
