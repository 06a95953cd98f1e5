"""Hands cassandra-driver outcomes from its I/O thread to the event loop, a burst at a time.

``loop.call_soon_threadsafe`` for each response writes a byte to the loop's self-pipe and
wakes the loop once per response. With a hundred requests in flight (a batch's writes, a
batch's hydrations) responses come in bursts, and a profile of the worker put these hand-offs
(the self-pipe writes, the wake-ups, one callback each) at about 16% of its CPU. A ``Relay``
queues each outcome and schedules one drain for all the outcomes that arrive before the loop
gets to it: one self-pipe write and one wake-up per burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

Settled = Callable[[], None] | None
Outcome = tuple[asyncio.Future[Any], Any, bool, Settled]
"""The waiter, its result or error, failed, and what to call on the loop once the driver is
done (even if the waiter was cancelled meanwhile: e.g. free a concurrency slot)."""


class Relay:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ready: deque[Outcome] = deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def __call__(
        self, outcome: Any, done: asyncio.Future[Any], failed: bool, settled: Settled = None
    ) -> None:
        """A driver callback or errback (``callback_args=(done, failed[, settled])``): any
        thread."""
        with self._lock:
            self._ready.append((done, outcome, failed, settled))
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, deque()
            self._scheduled = False
        for done, outcome, failed, settled in ready:
            settle(done, outcome, failed)
            if settled is not None:
                settled()


def settle(done: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if done.done():  # the waiter was cancelled
        pass
    elif failed:
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


_RELAYS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay] = weakref.WeakKeyDictionary()


def relay_for(loop: asyncio.AbstractEventLoop) -> Relay:
    """The loop's relay (one per loop, made on first use, from the loop's own thread)."""
    relay = _RELAYS.get(loop)
    if relay is None:
        relay = _RELAYS[loop] = Relay(loop)
    return relay
