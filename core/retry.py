"""The one retry policy: capped exponential backoff while a store is unavailable.

Every step the workers and the replay retry (a cold-tier write, a whole batch) is idempotent, so
waiting and doing it again is always safe; what differs is only what is retried and what is
logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
OnRetry = Callable[[Exception, float], None]
"""Told of each failed attempt and the delay before the next one (for logs and metrics)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Wait ``initial_s``, then twice as long each time, at most ``max_s``; for ever unless a
    caller bounds the attempts."""

    initial_s: float = 0.5
    max_s: float = 10.0

    def delays(self) -> Iterator[float]:
        delay = self.initial_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_s)

    async def until_done(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        retry_on: tuple[type[Exception], ...],
        on_retry: OnRetry,
        attempts: int | None = None,
    ) -> T:
        """Await ``attempt()`` until it returns; an error of ``retry_on`` waits and tries again,
        any other error is raised at once. With ``attempts``, the error of the last of that many
        attempts is raised instead of waiting again (the workers pass none: they wait for ever)."""
        for tried, delay in enumerate(self.delays(), start=1):
            try:
                return await attempt()
            except retry_on as exc:
                if attempts is not None and tried >= attempts:
                    raise
                on_retry(exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("delays() never ends")  # pragma: no cover
