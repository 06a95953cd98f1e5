"""What the hot-store contract's tests share: settings, helpers and fixture types."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from core.settings import SessionSettings
from store.hot import HotItem, HotStore, Hydration
from store.interactions import Interaction
from tests.store_contract import NOW_MS, ids

SESSION = SessionSettings(idle_s=60, max_session_s=600, last_n_per_kind=5, key_ttl_s=3600)
Lose = Callable[[], Awaitable[None]]
Expire = Callable[[str], Awaitable[None]]
P = 3  # the partition most tests use


def hot(item: Interaction, offset: int, partition: int = P) -> HotItem:
    return HotItem(item, partition, offset)


AT: dict[str, Any] = {"partition": P, "now_ms": NOW_MS}


def replace_user(item: Interaction, user_id: str) -> Interaction:
    return dataclasses.replace(item, user_id=user_id)


def by_id(items: list[Interaction]) -> list[Interaction]:
    return sorted(items, key=lambda item: item.event_id)


async def recent_ids(store: HotStore, user_id: str, **read: Any) -> list[str]:
    found = await store.recent(user_id, **read)
    assert found is not None, f"{user_id} is not live"
    return ids(found)


async def dirty_of(store: HotStore, user_id: str) -> list[Interaction]:
    return (await store.dirty([user_id]))[user_id].interactions


async def hydrate(
    store: HotStore, user_id: str, interactions: list[Interaction], *, partition: int, now_ms: int
) -> None:
    """One user's hydration from interactions (``Hydration.of``)."""
    await store.hydrate_many([Hydration.of(user_id, interactions, partition)], now_ms=now_ms)
