"""The read path on in-memory stores: which tier answers, per-user failures, timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from core.settings import RetentionSettings, SessionSettings
from store.errors import ColdStoreUnavailable, ReadTimedOut
from store.hot import HotStoreUnavailable
from store.interactions import INTERACTION_KINDS, Interaction
from store.read_path import InteractionReader, ReadFailed, RecentInteractions
from tests.hot_store_contract import hydrate
from tests.store_contract import NOW_MS, click
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_hot import InMemoryHotStore


class SlowColdStore(InMemoryColdStore):
    async def recent(
        self,
        user_id: str,
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> list[Interaction]:
        await asyncio.sleep(5)
        raise AssertionError("never reached")


def stores(cold_class: type[InMemoryColdStore] = InMemoryColdStore) -> tuple[
    InMemoryHotStore, InMemoryColdStore
]:  # fmt: skip
    clock = lambda: NOW_MS  # noqa: E731
    retention = RetentionSettings()
    return InMemoryHotStore(SessionSettings(), retention, clock=clock), cold_class(
        retention, clock=clock
    )


async def seeded() -> tuple[InMemoryHotStore, InMemoryColdStore]:
    hot, cold = stores()
    await cold.write_many([click("c1", NOW_MS - 10, "cold-user")])
    await hydrate(
        hot, "live-user", [click("h1", NOW_MS - 5, "live-user")], partition=0, now_ms=NOW_MS
    )
    return hot, cold


async def test_each_user_from_the_tier_that_holds_it_in_request_order() -> None:
    hot, cold = await seeded()
    reader = InteractionReader(hot, cold)
    found = await reader.recent_many(["cold-user", "live-user", "cold-user"])
    assert [(o.user_id, o.source) for o in found if isinstance(o, RecentInteractions)] == [
        ("cold-user", "cold"), ("live-user", "hot"), ("cold-user", "cold")]  # fmt: skip
    assert found[0] is found[2]  # read once
    assert (await reader.recent("live-user")).interactions[0].event_id == "h1"


async def test_a_hot_failure_fails_every_user() -> None:
    hot, cold = await seeded()
    hot.available = False
    found = await InteractionReader(hot, cold).recent_many(["cold-user", "live-user"])
    assert all(isinstance(o, ReadFailed) for o in found)
    assert all(isinstance(o.error, HotStoreUnavailable) for o in found if isinstance(o, ReadFailed))
    with pytest.raises(HotStoreUnavailable):
        await InteractionReader(hot, cold).recent("cold-user")


async def test_a_cold_failure_fails_only_users_who_are_not_live() -> None:
    hot, cold = await seeded()
    cold.available = False
    live, failed = await InteractionReader(hot, cold).recent_many(["live-user", "cold-user"])
    assert isinstance(live, RecentInteractions)
    assert isinstance(failed, ReadFailed)
    assert isinstance(failed.error, ColdStoreUnavailable)


async def test_a_read_over_the_timeout_fails_as_timed_out() -> None:
    hot, cold = stores(SlowColdStore)
    reader = InteractionReader(hot, cold, timeout_s=0.05)
    [outcome] = await reader.recent_many(["anyone"])
    assert isinstance(outcome, ReadFailed)
    assert isinstance(outcome.error, ReadTimedOut)
    assert "0.05s" in str(outcome.error)
