"""Awaiting a matrix's concurrent reads: all of them (an error once all are done), or each one
until a deadline. Reads are never cancelled: a redis-py command cancelled mid-flight costs its
connection, so late ones finish in the background and their results are dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


async def gather_all(awaitables: Sequence[Awaitable[T]]) -> list[T]:
    """All results in order; if any failed, the first error once all are done (none is
    cancelled: a read cancelled mid-command costs its Redis connection)."""
    if len(awaitables) == 1:
        return [await awaitables[0]]
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def _retrieve(task: asyncio.Future[Any]) -> None:
    """A late task's outcome is nobody's: read it so asyncio does not report it."""
    if not task.cancelled():
        task.exception()


async def until(deadline_at: float, awaitables: Sequence[Awaitable[T]]) -> list[T | None]:
    """Each result, or None for one not done by ``deadline_at`` (loop time). The first error
    is raised at once. Late tasks are not cancelled: they finish in the background (a read
    cancelled mid-command would cost its Redis connection) and their results are dropped."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    timeout = max(0.0, deadline_at - asyncio.get_running_loop().time())
    done, pending = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.add_done_callback(_retrieve)
    for task in tasks:
        if task in done and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [task.result() if task in done else None for task in tasks]
