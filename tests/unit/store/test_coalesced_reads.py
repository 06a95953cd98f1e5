"""Coalescer: reads of one loop turn in one call, each caller its own slice; a failure reaches
every caller of that turn; a caller that stops waiting costs the others nothing."""

from __future__ import annotations

import asyncio

import pytest

from store.coalesced_reads import Coalescer


class Backend:
    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.delay_s = delay_s
        self.fail = fail

    async def read(self, keys: list[str]) -> list[str]:
        self.calls.append(list(keys))
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise ConnectionError("down")
        return [key.upper() for key in keys]


async def test_reads_of_one_turn_are_one_call() -> None:
    backend = Backend()
    reads = Coalescer(backend.read, max_keys=100)
    found = await asyncio.gather(reads.read(["a", "b"]), reads.read(["c"]), reads.read(["d"]))
    assert found == [["A", "B"], ["C"], ["D"]]
    assert backend.calls == [["a", "b", "c", "d"]]
    assert await reads.read(["e"]) == ["E"]  # a later turn: a call of its own
    assert len(backend.calls) == 2


async def test_a_turn_over_max_keys_is_split() -> None:
    backend = Backend()
    reads = Coalescer(backend.read, max_keys=3)
    found = await asyncio.gather(reads.read(["a", "b"]), reads.read(["c", "d"]), reads.read(["e"]))
    assert found == [["A", "B"], ["C", "D"], ["E"]]
    assert backend.calls == [["a", "b"], ["c", "d", "e"]]


async def test_a_failure_reaches_every_caller_of_the_turn() -> None:
    reads = Coalescer(Backend(fail=True).read, max_keys=100)
    found = await asyncio.gather(reads.read(["a"]), reads.read(["b"]), return_exceptions=True)
    assert [type(f) for f in found] == [ConnectionError, ConnectionError]


async def test_a_caller_that_stops_waiting_leaves_the_others_their_answer() -> None:
    reads = Coalescer(Backend(delay_s=0.05).read, max_keys=100)
    impatient = asyncio.ensure_future(asyncio.wait_for(reads.read(["a"]), 0.01))
    patient = asyncio.ensure_future(reads.read(["b"]))
    with pytest.raises(TimeoutError):
        await impatient
    assert await patient == ["B"]


async def test_a_key_asked_twice_in_a_turn_is_read_once() -> None:
    backend = Backend()
    reads = Coalescer(backend.read, max_keys=100)
    found = await asyncio.gather(
        reads.read(["a", "b"]), reads.read(["b", "c"]), reads.read(["a"]), reads.read(["d"])
    )
    assert found == [["A", "B"], ["B", "C"], ["A"], ["D"]]
    assert backend.calls == [["a", "b", "c", "d"]]


async def test_a_failed_read_of_distinct_keys_reaches_every_caller() -> None:
    reads = Coalescer(Backend(fail=True).read, max_keys=100)
    found = await asyncio.gather(reads.read(["a"]), reads.read(["a"]), return_exceptions=True)
    assert [type(f) for f in found] == [ConnectionError, ConnectionError]


async def test_callers_beyond_max_in_flight_wait_and_go_out_together() -> None:
    backend = Backend(delay_s=0.02)
    reads = Coalescer(backend.read, max_keys=100, max_in_flight=1)
    first = asyncio.ensure_future(reads.read(["a"]))
    await asyncio.sleep(0.005)  # "a" is out: these wait for it
    later = [asyncio.ensure_future(reads.read([key])) for key in ("b", "c", "b")]
    await asyncio.sleep(0)
    assert backend.calls == [["a"]]
    assert await first == ["A"]
    assert [await f for f in later] == [["B"], ["C"], ["B"]]
    assert backend.calls == [["a"], ["b", "c"]]  # one read, "b" once


async def test_a_caller_never_joins_a_read_already_out() -> None:
    backend = Backend(delay_s=0.02)
    reads = Coalescer(backend.read, max_keys=100, max_in_flight=2)
    first = asyncio.ensure_future(reads.read(["a"]))
    await asyncio.sleep(0.005)
    second = asyncio.ensure_future(reads.read(["a"]))  # asked after "a" went out: read again
    assert (await first, await second) == (["A"], ["A"])
    assert backend.calls == [["a"], ["a"]]


async def test_waiting_callers_go_out_in_max_keys_slices() -> None:
    backend = Backend(delay_s=0.02)
    reads = Coalescer(backend.read, max_keys=2, max_in_flight=1)
    first = asyncio.ensure_future(reads.read(["a"]))
    await asyncio.sleep(0.005)
    later = [asyncio.ensure_future(reads.read([key])) for key in ("b", "c", "d")]
    await first
    assert [await f for f in later] == [["B"], ["C"], ["D"]]
    assert backend.calls == [["a"], ["b", "c"], ["d"]]


async def test_a_waiting_caller_that_stops_waiting_is_not_read() -> None:
    backend = Backend(delay_s=0.02)
    reads = Coalescer(backend.read, max_keys=100, max_in_flight=1)
    first = asyncio.ensure_future(reads.read(["a"]))
    await asyncio.sleep(0.005)
    gone = asyncio.ensure_future(reads.read(["b"]))
    kept = asyncio.ensure_future(reads.read(["c"]))
    await asyncio.sleep(0)
    gone.cancel()
    await first
    assert await kept == ["C"]
    assert backend.calls == [["a"], ["c"]]


async def test_a_failure_while_callers_wait_leaves_them_their_own_read() -> None:
    backend = Backend(delay_s=0.02, fail=True)
    reads = Coalescer(backend.read, max_keys=100, max_in_flight=1)
    first = asyncio.ensure_future(reads.read(["a"]))
    await asyncio.sleep(0.005)
    later = asyncio.ensure_future(reads.read(["b"]))
    with pytest.raises(ConnectionError):
        await first
    backend.fail = False
    assert await later == ["B"]
