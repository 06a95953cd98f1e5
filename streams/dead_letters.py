"""Dead letters: the original bytes of a message the pipeline cannot use, and why, in headers.

A dead letter is sent (and its delivery confirmed) before the offsets it covers are committed,
so a bad message is never lost and never blocks the good ones around it.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer

from core.errors import InterstoreError
from core.settings import KafkaSettings
from schemas.intake import (  # noqa: F401 - the headers, re-exported for the worker's readers
    HEADER_ERROR,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_REASON,
    HEADER_TOPIC,
    dead_letter_headers,
)
from streams.messages import RawMessage


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message: RawMessage
    reason: str  # a short machine-readable code: "unknown_schema", "id_too_long", ...
    error: str  # the human message

    def headers(self) -> list[tuple[str, bytes]]:
        m = self.message
        return dead_letter_headers(self.reason, self.error, m.topic, m.partition, m.offset)


class DeadLetterSink(ABC):
    @abstractmethod
    async def send_many(self, letters: Sequence[DeadLetter]) -> None:
        """Send every letter and return once all are delivered; raise if any is not."""


class FaustDeadLetterSink(DeadLetterSink):
    """Sends to the dead-letter topic with the worker's own producer, key and bytes unchanged."""

    def __init__(self, topic: Any) -> None:
        self.topic = topic  # a faust TopicT with raw key and value serializers

    async def send_many(self, letters: Sequence[DeadLetter]) -> None:
        pending = [
            await self.topic.send(
                key=letter.message.key, value=letter.message.value, headers=letter.headers()
            )
            for letter in letters
        ]
        for delivery in pending:
            await delivery  # raises if the broker did not take it


class KafkaDeadLetterSink(DeadLetterSink):
    """Sends with a confluent-kafka producer of its own (idempotent, acks=all), key and bytes
    unchanged; ``send_many`` returns once every letter is delivered (the flush runs on a
    thread), and raises ``DeadLetterUndelivered`` if any is not."""

    def __init__(self, kafka: KafkaSettings, topic: str, *, timeout_s: float = 30.0) -> None:
        self.topic = topic
        self.timeout_s = timeout_s
        self._producer = Producer(
            {
                "bootstrap.servers": kafka.bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
            }
        )

    async def send_many(self, letters: Sequence[DeadLetter]) -> None:
        await asyncio.to_thread(self._send, letters)

    def _send(self, letters: Sequence[DeadLetter]) -> None:
        failures: list[str] = []

        def delivered(error: Any, message: Any) -> None:
            if error is not None:
                failures.append(str(error))

        for letter in letters:
            m = letter.message
            headers: list[tuple[str, str | bytes | None]] = list(letter.headers())
            self._producer.produce(
                self.topic, m.value, m.key, headers=headers, on_delivery=delivered
            )
        if self._producer.flush(self.timeout_s) or failures:
            raise DeadLetterUndelivered(
                f"dead letters not delivered to {self.topic}: {failures[:3] or 'flush timed out'}"
            )


class DeadLetterUndelivered(InterstoreError):
    """The dead-letter topic did not take a letter: the batch is not done."""
