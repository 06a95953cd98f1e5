"""Sessions in the worker on in-memory stores: routing, hydration, flushes, watermarks, recovery."""

from __future__ import annotations

import pytest

from tests.unit.streams.world import (
    GROUP,
    IDLE_MS,
    NOW_MS,
    TOPIC,
    World,
    app_open,
    click,
    ids_in_cold,
)


@pytest.fixture
def world() -> World:
    return World()


async def test_an_app_open_hydrates_and_later_clicks_stay_hot(world: World) -> None:
    await world.send([click(1), click(2), app_open(3), click(4), click(5)])
    assert await ids_in_cold(world) == ["c2", "c1"]  # before the app_open: straight to cold
    view = await world.hot.recent("u1", limit=100, now_ms=NOW_MS)
    assert [i.event_id for i in view or []] == ["c5", "c4", "c2", "c1"]  # hydrated + live
    assert world.marks.marks == {(GROUP, TOPIC, 0): 3}  # the first hot-only offset


async def test_the_idle_flush_writes_dirty_interactions_once_and_evicts(world: World) -> None:
    await world.send([app_open(1), click(2), click(3)])
    assert await ids_in_cold(world) == []
    assert await world.tracker.tick({0}) == 0  # not idle yet
    world.clock.now += IDLE_MS + 1
    assert await world.tracker.tick({0}) == 1
    assert await ids_in_cold(world) == ["c3", "c2"]
    assert await world.hot.live_users(["u1"]) == set()
    assert world.marks.marks == {}  # nothing hot-only any more


async def test_a_hand_over_flushes_dirty_data_and_keeps_the_session_live(world: World) -> None:
    await world.send([app_open(1), click(2), click(3)])
    await world.tracker.hand_over({0})
    assert await ids_in_cold(world) == ["c3", "c2"]
    assert await world.hot.live_users(["u1"]) == {"u1"}
    assert world.marks.marks == {}
    await world.send([click(4)])  # still live: goes hot again
    assert await ids_in_cold(world) == ["c3", "c2"]


async def test_lost_hot_data_is_replayed_from_the_watermark(world: World) -> None:
    await world.send([click(1), app_open(2), click(3), click(4)])
    world.hot.lose_everything()
    await world.send([click(5)])  # the next batch notices, recovers, then goes on
    assert await ids_in_cold(world) == ["c5", "c4", "c3", "c1"]
    assert await world.hot.live_users(["u1"]) == set()
    assert world.marks.marks == {}


async def test_a_live_users_app_open_touches_only_when_the_batch_appends_nothing() -> None:
    touched: list[dict[int, set[str]]] = []
    world = World()
    touch = world.hot.touch

    async def recorded(users: dict[int, set[str]], *, now_ms: int) -> set[str]:
        touched.append({p: set(of) for p, of in users.items()})
        return await touch(users, now_ms=now_ms)

    world.hot.touch = recorded  # type: ignore[method-assign]
    await world.send([app_open(1), click(2)])  # hydrates u1
    world.clock.now += 1_000
    await world.send([app_open(3), click(4), app_open(5, "u2")])
    assert touched == []  # u1's append refreshed it; u2 is hydrated, not touched
    assert world.hot._seen[0]["u1"] == world.clock.now  # last-seen, as a touch
    world.clock.now += 1_000
    await world.send([app_open(7), click(8, "u2")])
    assert touched == [{0: {"u1"}}]  # nothing appended for u1: touched
    assert world.hot._seen[0]["u1"] == world.clock.now
