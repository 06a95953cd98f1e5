"""The read path: a live user is served from the hot tier alone, any other from the cold tier.
Every answer says which tier answered; a failing tier raises, it never answers "empty"."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from store.cold import ColdStore
from store.hot import HotStore
from store.interactions import INTERACTION_KINDS, Interaction

Source = Literal["hot", "cold"]


@dataclass(frozen=True, slots=True)
class RecentInteractions:
    user_id: str
    source: Source
    interactions: list[Interaction]


class InteractionReader:
    def __init__(self, hot: HotStore, cold: ColdStore) -> None:
        self.hot = hot
        self.cold = cold

    async def recent(
        self,
        user_id: str,
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
    ) -> RecentInteractions:
        [answer] = await self.recent_many([user_id], kinds=kinds, limit=limit, since_ms=since_ms)
        return answer

    async def recent_many(
        self,
        user_ids: Sequence[str],
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
    ) -> list[RecentInteractions]:
        """In request order: live users from one pipelined hot read, the others concurrently
        from the cold tier."""
        hot = await self.hot.recent_many(user_ids, kinds=kinds, limit=limit, since_ms=since_ms)
        cold_users = [user for user in dict.fromkeys(user_ids) if user not in hot]
        cold_answers = await asyncio.gather(
            *(
                self.cold.recent(user, kinds=kinds, limit=limit, since_ms=since_ms)
                for user in cold_users
            )
        )
        cold = dict(zip(cold_users, cold_answers, strict=True))
        return [
            RecentInteractions(user, "hot", hot[user])
            if user in hot
            else RecentInteractions(user, "cold", cold[user])
            for user in user_ids
        ]
