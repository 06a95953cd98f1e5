"""Readiness, cached: one round of dependency checks (a Kafka metadata request, a Cassandra and
a Redis round trip) serves every ``/readyz`` for ``ttl_s``, however many probes ask.

Who may see why a check fails: the raw errors name hosts and socket paths, so a caller without
an API key carrying the ``admin`` scope gets only ``ok`` or ``failing`` per check; the details
go to the log (once per round that found a failure) and to admin callers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("interstore.api")
Checks = dict[str, str]


class ReadinessCache:
    def __init__(self, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._checked_at: float | None = None
        self._checks: Checks = {}
        self._lock = asyncio.Lock()
        self.rounds = 0
        """Rounds of checks run so far."""

    async def checks(self, run: Callable[[], Awaitable[Checks]]) -> Checks:
        """The last round's results if younger than ``ttl_s``, else a new round (concurrent
        callers wait for the same round)."""
        async with self._lock:
            now = self.clock()
            if self._checked_at is None or now - self._checked_at >= self.ttl_s:
                self._checks = await run()
                self._checked_at = self.clock()
                self.rounds += 1
                if failing := {k: v for k, v in self._checks.items() if v != "ok"}:
                    log.warning("not ready: %s", failing)
            return dict(self._checks)


def public(checks: Checks) -> Checks:
    """What an unauthenticated caller sees: ok or failing per check."""
    return {name: "ok" if result == "ok" else "failing" for name, result in checks.items()}
