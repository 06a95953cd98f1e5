"""Dead letters: the original bytes of a message the pipeline cannot use, and why, in headers.

A dead letter is sent (and its delivery confirmed) before the offsets it covers are committed,
so a bad message is never lost and never blocks the good ones around it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streams.messages import RawMessage

HEADER_REASON = "interstore.reason"
HEADER_ERROR = "interstore.error"
HEADER_TOPIC = "interstore.source.topic"
HEADER_PARTITION = "interstore.source.partition"
HEADER_OFFSET = "interstore.source.offset"
MAX_ERROR_BYTES = 1024


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message: RawMessage
    reason: str  # a short machine-readable code: "unknown_schema", "id_too_long", ...
    error: str  # the human message

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            (HEADER_REASON, self.reason.encode()),
            (HEADER_ERROR, self.error.encode()[:MAX_ERROR_BYTES]),
            (HEADER_TOPIC, self.message.topic.encode()),
            (HEADER_PARTITION, str(self.message.partition).encode()),
            (HEADER_OFFSET, str(self.message.offset).encode()),
        ]


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
