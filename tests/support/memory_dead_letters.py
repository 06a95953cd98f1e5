"""An in-memory dead-letter sink for unit tests (test support, not shipped)."""

from __future__ import annotations

from collections.abc import Sequence

from streams.dead_letters import DeadLetter, DeadLetterSink


class InMemoryDeadLetterSink(DeadLetterSink):
    """Keeps letters in a list: for unit tests of the pipeline."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def send_many(self, letters: Sequence[DeadLetter]) -> None:
        self.letters.extend(letters)
