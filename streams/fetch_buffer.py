"""The messages a ``BatchConsumer`` fetched and has not put in a batch yet, and its bound.

Past ``most`` messages the fetch task waits for a batch to make room instead of fetching more
(``still_full``); only a buffer still full after ``pause_after_s`` has the consumer pause its
partitions. A librdkafka pause drops every message it prefetched of them, fetched again on
resume: pausing as soon as the buffer was full, then resuming a batch later, left the worker
waiting for the broker on a backlog (DESIGN §15).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterable

from streams.messages import RawMessage

PAUSE_AFTER_S = 1.0
"""How long a full buffer waits for room before the partitions are paused (a rebalance's
callbacks may wait that long, on top of the batch in flight)."""


class FetchBuffer:
    def __init__(self, most: int, pause_after_s: float) -> None:
        self.most = most
        self.pause_after_s = pause_after_s
        self._messages: deque[RawMessage] = deque()
        self._room = asyncio.Event()
        """Set when messages left the buffer (a batch, a revocation) or the consumer stops."""
        self._closed = False

    def __len__(self) -> int:
        return len(self._messages)

    def first(self) -> RawMessage:
        return self._messages[0]

    def append(self, message: RawMessage) -> None:
        self._messages.append(message)

    def take(self, most: int) -> list[RawMessage]:
        """Up to ``most`` messages, oldest first."""
        messages = self._messages
        taken = [messages.popleft() for _ in range(min(most, len(messages)))]
        self._room.set()
        return taken

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget the messages of ``partitions`` (revoked)."""
        lost = set(partitions)
        self._messages = deque(m for m in self._messages if m.partition not in lost)
        self._room.set()

    def close(self) -> None:
        """The consumer stops: a ``still_full`` wait ends now, and no later one waits."""
        self._closed = True
        self._room.set()

    async def still_full(self) -> bool:
        """Whether the buffer is full after waiting up to ``pause_after_s`` for room (then the
        consumer pauses its partitions, so its ``consume`` serves the group without taking
        messages). Returns at once when there is room, or once closed."""
        deadline = time.monotonic() + self.pause_after_s
        while len(self._messages) >= self.most and not self._closed:
            if (left := deadline - time.monotonic()) <= 0:
                return True
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), left)
        return False
