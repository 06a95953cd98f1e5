"""When the API answers a request at once with a 503 instead of serving it late: the one
``LoadGate`` of an app, asked by the server protocol as a request is parsed
(``api.shedding_protocol``) and by the ``ConcurrencyLimit`` middleware (``api.middleware``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

IN_PROGRESS = "in_progress"
LOOP_LAG = "loop_lag"
CONNECTIONS = "connections"
REASONS = (IN_PROGRESS, LOOP_LAG, CONNECTIONS)

UNSHED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Never shed: the probes and the metrics scrape are answered under overload too. A liveness
probe shed gets the process restarted for being busy, a scrape shed hides the overload from the
very metrics that show it (and failed ``bench api``, which scrapes the shed count under load);
each is cheap (``/readyz`` is cached, ``api.readiness``)."""

ADMITTED = "interstore.admitted"
"""Scope key set by the server protocol on a request it admitted and counts: the middleware
then neither checks nor counts it again."""


class LoadGate:
    """Requests in progress (admitted, not finished: queued tasks included when the server
    protocol admits them) and the event loop's lateness. ``refusal(path)`` is None while a
    request may go in (always for ``UNSHED_PATHS``); otherwise the reason, one of ``REASONS``.
    ``on_shed`` counts each shed request."""

    def __init__(
        self,
        max_requests: int,
        max_lag_s: float,
        max_connections: int,
        on_shed: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.max_requests = max_requests
        self.max_lag_s = max_lag_s
        self.in_progress = 0
        self.lag = LoopLag()
        self.on_shed = on_shed
        self.messages = {
            IN_PROGRESS: f"over {max_requests} requests in progress: retry shortly",
            LOOP_LAG: f"the API runs over {max_lag_s * 1000:.0f} ms behind: retry shortly",
            CONNECTIONS: f"over {max_connections} connections or requests: retry shortly",
        }

    def refusal(self, path: str) -> str | None:
        if path in UNSHED_PATHS:
            return None
        if self.in_progress >= self.max_requests:
            return IN_PROGRESS
        if self.lag.late_s() > self.max_lag_s:
            return LOOP_LAG
        return None

    def enter(self) -> None:
        self.in_progress += 1

    def leave(self, *_: object) -> None:
        """A request finished (also a task's done callback)."""
        self.in_progress -= 1

    def shed(self, reason: str) -> str:
        """Count one shed request; its 503's message."""
        self.on_shed(reason)
        return self.messages[reason]


class LoopLag:
    """How late the running event loop is: a timer every ``interval_s`` notes how late it fired
    (started by the first ``late_s`` call on the loop; one callback per interval).

    A lateness is held for as long as it was: what arrived while the loop was stalled (a long
    turn, a starved or paused process) waited in the kernel's buffers, and is read over the
    turns after the stall, which are short again; the lateness of that stall is what those
    requests have waited."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self._held_s = 0.0
        self._held_until = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    def late_s(self) -> float:
        """The lateness held, or that of the pending timer if it is later still."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._held_s = self._held_until = 0.0
            self._schedule(loop)
        now = loop.time()
        held = self._held_s if now < self._held_until else 0.0
        return max(held, now - self._due)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due = loop.time() + self.interval_s
        loop.call_at(self._due, self._fired, loop)

    def _fired(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        late = max(0.0, now - self._due)
        if late >= self._held_s or now >= self._held_until:
            self._held_s, self._held_until = late, now + late
        if self._loop is loop and not loop.is_closed():
            self._schedule(loop)
