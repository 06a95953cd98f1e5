"""A token bucket: ``take(n)`` waits until ``n`` more events fit in the rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up (a burst of ``burst`` events).

    The bucket starts empty at its first ``take`` (not when it is built: a replay's connect and
    seek take seconds, and tokens saved meanwhile would let the first second overshoot), so at
    any time ``t`` after the first take at most ``rate * t`` events have been let through. A
    take larger than ``burst`` is allowed: it leaves the bucket in debt, and later takes wait
    the debt off, so the average over any long run is ``rate``.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate / 10, 1.0)
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = 0.0
        self._at: float | None = None

    def _refill(self) -> None:
        now = self._monotonic()
        if self._at is not None:
            self._tokens = min(self._tokens + (now - self._at) * self.rate, self.burst)
        self._at = now

    async def take(self, count: int) -> None:
        self._refill()
        self._tokens -= count
        if self._tokens < 0:
            await self._sleep(-self._tokens / self.rate)
