"""Reads issued in one turn of the event loop, sent as one.

A model's matrix resolves its micro-batches concurrently: each one's entity reads are issued in
the same turn of the loop, one per micro-batch. Sent as they are, each is a command of its own
(a pool connection, a packed command, a socket write and read, a parsed reply); at 500
candidates in micro-batches of 50 that is 10 MGETs per level where one would do. ``Coalescer``
collects the key lists asked for in one turn and reads each distinct key once, with one call of
the wrapped read function (one MGET on one Redis node), then gives each caller its slice. A key
asked twice in one turn (a user x category that two micro-batches of a request both need, or two
requests for one user) is read once and given to both. A caller that stops waiting (its
deadline) only drops its slice; a failed read fails every caller of that turn.

With ``max_in_flight``, at most that many reads are out at once: callers that come while they
are wait, and the first read to finish sends everything that gathered meanwhile as the next
read (in ``max_keys`` slices). Under load the reads grow instead of multiplying, so the work
per caller falls as the rate rises. A caller's read is always sent after it asked: it never
joins a read already out, so it sees every write finished before it asked.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Read = Callable[[list[str]], Awaitable[list[T]]]


class Coalescer(Generic[T]):
    def __init__(self, read: Read[T], max_keys: int, max_in_flight: int | None = None) -> None:
        """``read(keys)`` answers one value per key, in order; a turn's keys beyond
        ``max_keys`` go out in another read; ``max_in_flight`` bounds the reads out at once
        (None: unbounded)."""
        self._read = read
        self._max_keys = max_keys
        self._max_in_flight = max_in_flight
        self._pending: list[tuple[Sequence[str], asyncio.Future[list[T]]]] = []
        self._pending_keys = 0
        self._running: set[asyncio.Task[None]] = set()

    async def read(self, keys: Sequence[str]) -> list[T]:
        loop = asyncio.get_running_loop()
        if self._pending and self._pending_keys + len(keys) > self._max_keys:
            self._flush()
        if not self._pending:
            loop.call_soon(self._flush)
        future: asyncio.Future[list[T]] = loop.create_future()
        self._pending.append((keys, future))
        self._pending_keys += len(keys)
        return await future

    def _flush(self) -> None:
        """Sends what is pending (none: flushed early by a read over max_keys) while a read
        may go out; what is left goes when a read finishes."""
        while self._pending and (
            self._max_in_flight is None or len(self._running) < self._max_in_flight
        ):
            pending = self._take_slice()
            if not pending:  # every caller left stopped waiting
                continue
            task = asyncio.ensure_future(self._answer(pending))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _take_slice(self) -> list[tuple[Sequence[str], asyncio.Future[list[T]]]]:
        """The pending callers still waiting, up to ``max_keys`` keys (one caller at least)."""
        count, keys = 0, 0
        for wanted, _ in self._pending:
            if count and keys + len(wanted) > self._max_keys:
                break
            count, keys = count + 1, keys + len(wanted)
        taken, self._pending = self._pending[:count], self._pending[count:]
        self._pending_keys -= keys
        return [(wanted, future) for wanted, future in taken if not future.done()]

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._flush()

    async def _answer(self, pending: list[tuple[Sequence[str], asyncio.Future[list[T]]]]) -> None:
        if len(pending) == 1:  # one caller: its keys are distinct already (one MGET's ids)
            keys = list(pending[0][0])
        else:
            keys = list(itertools.chain.from_iterable(wanted for wanted, _ in pending))
            distinct = list(dict.fromkeys(keys))
            if len(distinct) < len(keys):
                await self._answer_distinct(pending, distinct)
                return
        try:
            found = await self._read(keys)
        except Exception as error:  # noqa: BLE001 - every caller of this turn gets it
            _fail(pending, error)
            return
        start = 0
        for wanted, future in pending:
            end = start + len(wanted)
            if not future.done():  # a caller that stopped waiting left its future cancelled
                future.set_result(found[start:end] if len(pending) > 1 else found)
            start = end

    async def _answer_distinct(
        self, pending: list[tuple[Sequence[str], asyncio.Future[list[T]]]], distinct: list[str]
    ) -> None:
        """The turn's distinct keys read once; each caller's values picked by key."""
        try:
            found = await self._read(distinct)
        except Exception as error:  # noqa: BLE001 - every caller of this turn gets it
            _fail(pending, error)
            return
        by_key = dict(zip(distinct, found, strict=True))
        for wanted, future in pending:
            if not future.done():
                future.set_result(list(map(by_key.__getitem__, wanted)))


def _fail(pending: list[tuple[Sequence[str], asyncio.Future[Any]]], error: Exception) -> None:
    for _, future in pending:
        if not future.done():
            future.set_exception(error)
