"""The look-ahead on in-memory stores: an app_open read past the stream's position hydrates with
every message of its user that is in no tier yet; nothing is lost or doubled afterwards; the
reader is bounded (activation by lag, a cap per partition, dropped when caught up)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from streams.lookahead import AheadBuffer, LookAhead
from streams.messages import RawMessage
from tests.unit.streams.world import IDLE_MS, NOW_MS, World, app_open, click, stage_count

Event = tuple[str, dict[str, Any]]


class ListReader:
    """An ``AheadReader`` over a list of messages (one partition's log per partition)."""

    def __init__(self, log: Sequence[RawMessage]) -> None:
        self.log = list(log)
        self.positions: dict[int, int] = {}
        self.paused: set[int] = set()
        self.assigns = 0

    async def assign(self, starts: Mapping[int, int]) -> None:
        self.assigns += 1
        self.positions = dict(starts)

    def pause(self, partitions: Iterable[int]) -> None:
        self.paused |= set(partitions)

    def resume(self, partitions: Iterable[int]) -> None:
        self.paused -= set(partitions)

    def highwater(self, partition: int) -> int | None:
        return None  # the tests give the worker's consumer's end

    async def fetch(self, timeout_s: float) -> list[RawMessage]:
        out = []
        for partition, position in self.positions.items():
            if partition in self.paused:
                continue
            found = [m for m in self.log if m.partition == partition and m.offset >= position]
            if found:
                self.positions[partition] = found[-1].offset + 1
            out += found
        return out

    async def close(self) -> None:
        return None


def ahead_of(
    world: World, log: Sequence[RawMessage], **kwargs: int
) -> tuple[LookAhead, ListReader]:
    reader = ListReader(log)
    highwater = {0: log[-1].offset + 1}
    look = LookAhead(
        world.services.early, reader, lambda: {0}, highwater.get,
        min_lag=kwargs.get("min_lag", 2), max_held=kwargs.get("max_held", 1000),
    )  # fmt: skip
    return look, reader


async def view(world: World, user: str = "u1") -> list[str] | None:
    found = await world.hot.recent(user, limit=100, now_ms=NOW_MS)
    return None if found is None else [item.event_id for item in found]


async def cold(world: World, user: str = "u1") -> list[str]:
    return [i.event_id for i in await world.cold.recent(user, limit=100, now_ms=NOW_MS)]


def outcome(world: World, name: str) -> float:
    return world.metrics.early_hydrations.labels(name)._value.get()  # type: ignore[no-any-return]


def test_the_buffer_keeps_each_keys_messages_until_the_stream_has_them() -> None:
    world = World()
    log = world.messages([click(0), click(1, "u2"), click(2), app_open(3)], key=None)
    buffer = AheadBuffer(log[0].offset)
    for message in log:
        buffer.add(message)
    assert [m.offset for m in buffer.before(log[3])] == [0, 2]
    buffer.drop_through(1)
    assert [m.offset for m in buffer.before(log[3])] == [2]
    assert len(buffer) == 2
    assert buffer.next == 4


async def test_an_app_open_deep_in_a_backlog_hydrates_with_everything_in_flight() -> None:
    world = World()
    await world.run(world.messages([click(0)], key=None))  # handled: in cold
    backlog = world.messages(
        [click(1), click(2, "u2"), click(3), click(4, "u2"), click(5), app_open(6), click(7)],
        key=None,
    )
    early = world.services.early
    for message in backlog[:2]:  # the stream handed these over; no batch has handled them
        early.seen(message)
    look, reader = ahead_of(world, backlog)
    await look.replan()
    assert reader.positions == {0: backlog[2].offset}  # from after what the stream saw
    look.take(await reader.fetch(0))
    await early.wait()
    assert look.found == 1
    assert outcome(world, "hydrated") == 1
    assert outcome(world, "ahead") == 1
    assert await view(world) == ["c5", "c3", "c1", "c0"]  # cold + seen + read ahead
    for message in backlog[2:]:
        early.seen(message)  # the stream reaches the app_open: not queued again
    await early.wait()
    assert outcome(world, "hydrated") + outcome(world, "live") == 1
    await world.run(backlog)
    assert await view(world) == ["c7", "c5", "c3", "c1", "c0"]
    assert world.metrics.hydrations._value.get() == 1
    world.clock.now += IDLE_MS + 1
    await world.tracker.tick({0})
    assert await cold(world) == ["c7", "c5", "c3", "c1", "c0"]  # each once
    assert await cold(world, "u2") == ["c4", "c2"]


async def test_a_partition_the_stream_has_not_reached_is_read_ahead_from_where_it_starts() -> None:
    world = World()
    await world.run(world.messages([click(0)], key=None))  # handled and committed: in cold
    backlog = world.messages([click(1), click(2, "u2"), app_open(3), click(4)], key=None)
    early = world.services.early
    look, reader = ahead_of(world, backlog)
    await look.replan()
    assert look.buffers == {}  # where the stream stands is not known
    early.starts({0: backlog[0].offset})  # assigned, consumed from the commit: nothing seen
    await look.replan()
    assert reader.positions == {0: backlog[0].offset}
    look.take(await reader.fetch(0))
    await early.wait()
    assert outcome(world, "ahead") == 1
    assert await view(world) == ["c1", "c0"]
    early.seen(backlog[0])
    early.starts({0: 0})  # what the stream handed over stands
    assert early.seen_upto(0) == backlog[0].offset
    for message in backlog[1:]:
        early.seen(message)
    await world.run(backlog)
    assert await view(world) == ["c4", "c1", "c0"]
    assert world.metrics.hydrations._value.get() == 1


async def test_an_app_open_the_stream_has_seen_is_not_taken_from_the_look_ahead() -> None:
    world = World()
    batch = world.messages([click(1), app_open(2)], key=None)
    early = world.services.early
    assert not early.ahead(batch[1], batch[:1])  # the stream has not started on the partition
    for message in batch:
        early.seen(message)
    assert not early.ahead(batch[1], batch[:1])  # seen already: early hydration has it
    await early.wait()
    assert outcome(world, "ahead") == 0
    assert outcome(world, "hydrated") == 1


async def test_a_partition_is_read_ahead_only_while_behind_and_within_its_cap() -> None:
    world = World()
    log = world.messages([click(n) for n in range(10)], key=None)
    early = world.services.early
    early.seen(log[0])
    look, reader = ahead_of(world, log, min_lag=20)
    await look.replan()
    assert look.buffers == {}
    assert not early.reading_ahead
    look.min_lag = 4
    look.max_held = 3
    await look.replan()
    assert set(look.buffers) == {0}
    assert early.reading_ahead
    look.take(await reader.fetch(0))
    await look.replan()
    assert reader.paused == {0}  # 9 held, over the cap
    for message in log[1:8]:
        early.seen(message)
    await look.replan()
    assert len(look.buffers[0]) == 2
    assert reader.paused == set()
    early.seen(log[9])
    await look.replan()
    assert look.buffers == {}
    assert not early.reading_ahead


async def test_a_rebalance_drops_what_the_stream_saw_and_the_look_ahead_starts_over() -> None:
    world = World()
    log = world.messages([click(n) for n in range(10)], key=None)
    early = world.services.early
    early.seen(log[0])
    look, _reader = ahead_of(world, log)
    await look.replan()
    assert set(look.buffers) == {0}
    early.forget({0})
    await look.replan()
    assert look.buffers == {}
    assert early.seen_upto(0) is None


async def test_a_batch_takes_the_lock_twice_and_writes_cold_once_while_app_opens_wait() -> None:
    world = World()
    early = world.services.early
    opening = world.messages([app_open(0, "u9")], key=None)
    batch = world.messages([click(n, f"w{n % 7}") for n in range(600)], key=None)
    early.seen(opening[0])  # queued: its round waits for the lock
    order: list[str] = []

    async def ack() -> None:
        order.append("ack")

    await world.services.batches.run(batch, ack)
    await early.wait()
    # the batch takes the lock before and after its one cold write, the round once
    assert stage_count(world.metrics, "lock_wait") == 3
    assert stage_count(world.metrics, "cold_write") == 1
    assert order == ["ack"]
    assert await view(world, "u9") == []
    assert len(await cold(world, "w0")) == 86
