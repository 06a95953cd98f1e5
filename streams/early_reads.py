"""Early hydrations' cold reads, started when an app_open is queued, outside the worker lock.

A hydration is a cold read (the user's compact recent view: tens of milliseconds of Cassandra
on a busy box) and a hot-tier write. Holding the worker lock through the read stalls every
batch behind it, and the worker falls behind. So ``EarlyHydration`` starts each user's read as
soon as the app_open is queued (at most ``concurrency`` at once) and holds the lock only for
the hot-tier write, once the read is done. A batch that reaches the app_open before the round
(the round waits for the read, the batch may not) takes the same read
(``SessionRouter.hydrate_all`` asks ``take`` for every user it hydrates).

Why a read outside the lock is still complete: when the app_open is queued, each of the user's
earlier messages is either handled (its batch finished, so it is in a tier) or pending (then it
is in the round's in-flight interactions). What is handled before the read starts is in the
cold tier unless the user was live; a session that ends writes its interactions to cold first.
Any cold write of the user that finishes after the read started (a session flush, a hot-tier
recovery, a batch's direct writes) is seen by the worker's one ``ColdWriter``
(``WrittenSince``): ``take`` then answers None and the round reads the user again, under the
lock, as it did before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

from store.errors import StoreError
from store.recent_views import HotMember
from streams.cold_writer import WrittenSince
from streams.metrics import WorkerMetrics

Members = dict[str, list[HotMember]]
ReadMembers = Callable[[str], Awaitable[Members]]


class EarlyReads:
    def __init__(
        self,
        read: ReadMembers,
        written_since: WrittenSince,
        metrics: WorkerMetrics,
        *,
        concurrency: int,
    ) -> None:
        self._read_members = read
        self._written_since = written_since
        self._limiter = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, asyncio.Task[Members]] = {}
        self._stage = metrics.stage_seconds.labels("early_read")

    def start(self, user: str) -> None:
        """Start reading ``user``'s members (one read per user at a time)."""
        self.drop(user)
        self._written_since.watch(user)  # before the read is sent
        self._tasks[user] = asyncio.create_task(self._read(user), name=f"early-read-{user}")

    async def _read(self, user: str) -> Members:
        async with self._limiter:
            started = time.monotonic()
            members = await self._read_members(user)
            self._stage.observe(time.monotonic() - started)
            return members

    async def read_now(self, user: str) -> Members:
        """``user``'s members read now (under the worker lock: always complete)."""
        return await self._read_members(user)

    def done(self, user: str) -> bool:
        """Whether ``user``'s read has finished (or failed, or was never started)."""
        task = self._tasks.get(user)
        return task is None or task.done()

    def size(self, user: str) -> int | None:
        """Members in ``user``'s finished read (what its hydration writes from the cold tier);
        None if there is none, it failed or runs still."""
        task = self._tasks.get(user)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return sum(len(members) for members in task.result().values())

    async def any_done(self, users: Iterable[str]) -> None:
        """Until the read of at least one of ``users`` has finished (at once if none runs)."""
        running = [self._tasks[user] for user in users if user in self._tasks]
        if running and not any(task.done() for task in running):
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)

    async def take(self, user: str) -> Members | None:
        """The finished read's members, or None (the round reads the user again, under the lock)
        if there is none, it failed, or a cold write of the user finished since it started."""
        task = self._tasks.pop(user, None)
        stale = self._written_since.release(user)
        if task is None:
            return None
        try:
            members = await task
        except StoreError:
            return None  # the round reads it again, with its error handling
        return None if stale else members

    def drop(self, user: str) -> None:
        """Forget ``user``'s read (its app_open is not hydrated early after all)."""
        self._written_since.release(user)
        task = self._tasks.pop(user, None)
        if task is not None:
            task.cancel()
            task.add_done_callback(_retrieved)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for user in list(self._tasks):
            self.drop(user)
        await asyncio.gather(*tasks, return_exceptions=True)


def _retrieved(task: asyncio.Task[Members]) -> None:
    """Retrieve a dropped read's outcome (no 'exception was never retrieved' warning)."""
    if not task.cancelled():
        task.exception()
