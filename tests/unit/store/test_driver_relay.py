"""Outcomes from other threads reach their waiters, a burst per loop wake-up."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from store.driver_relay import Relay, relay_for


async def test_outcomes_from_a_thread_settle_their_futures_in_one_drain() -> None:
    loop = asyncio.get_running_loop()
    relay = relay_for(loop)
    assert relay_for(loop) is relay
    futures: list[asyncio.Future[Any]] = [loop.create_future() for _ in range(100)]
    calls = 0
    original = loop.call_soon_threadsafe

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:

        def driver_thread() -> None:
            for n, done in enumerate(futures):
                relay(ValueError(n) if n % 10 == 0 else n, done, n % 10 == 0)

        thread = threading.Thread(target=driver_thread)
        thread.start()
        thread.join()
        results = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        del loop.call_soon_threadsafe
    assert [r if isinstance(r, int) else str(r) for r in results] == [
        str(n) if n % 10 == 0 else n for n in range(100)
    ]
    assert calls == 1  # every outcome came before the loop ran: one wake-up for all


async def test_a_cancelled_waiter_is_left_alone() -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    done.cancel()
    Relay(loop)("late", done, False)
    await asyncio.sleep(0)
    assert done.cancelled()


def test_a_closed_loop_is_ignored() -> None:
    loop = asyncio.new_event_loop()
    done: asyncio.Future[Any] = loop.create_future()
    loop.close()
    Relay(loop)("late", done, False)  # no error: nobody waits any more
    with pytest.raises(asyncio.InvalidStateError):
        done.result()
