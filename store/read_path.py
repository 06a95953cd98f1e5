"""The read path: a live user is served from the hot tier alone, any other from the cold tier.
Every answer says which tier answered; a failing tier raises (or, for one user of many, gives
that user a ``ReadFailed``), it never answers "empty"."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from store.cold import ColdStore
from store.errors import ReadTimedOut, StoreError
from store.hot import HotReads
from store.interactions import INTERACTION_KINDS, Interaction

Source = Literal["hot", "cold"]
T = TypeVar("T")
Row = TypeVar("Row")
JsonRow = dict[str, Any]
"""An interaction as ``Interaction.to_json`` gives it: the read API's shape."""


@dataclass(frozen=True, slots=True)
class RecentInteractions(Generic[Row]):
    user_id: str
    source: Source
    interactions: list[Row]


@dataclass(frozen=True, slots=True)
class ReadFailed:
    """One user's read failed: ``error`` says why (unavailable, timed out, refused)."""

    user_id: str
    error: StoreError


ReadOutcome = RecentInteractions[Row] | ReadFailed


class InteractionReader:
    """``timeout_s`` bounds each tier's read (the hot read of a batch, each user's cold read);
    one that takes longer fails as ReadTimedOut."""

    def __init__(self, hot: HotReads, cold: ColdStore, *, timeout_s: float | None = None) -> None:
        self.hot = hot
        self.cold = cold
        self.timeout_s = timeout_s

    async def recent(
        self,
        user_id: str,
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
    ) -> RecentInteractions[Interaction]:
        """Raises the StoreError of a failed read."""
        [outcome] = await self.recent_many([user_id], kinds=kinds, limit=limit, since_ms=since_ms)
        if isinstance(outcome, ReadFailed):
            raise outcome.error
        return outcome

    async def recent_many(
        self,
        user_ids: Sequence[str],
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
    ) -> list[ReadOutcome[Interaction]]:
        """In request order (repeats read once): live users from one pipelined hot read, the
        others concurrently from the cold tier. A failed hot read fails every user (which of
        them are live is unknown, and a live user's cold rows are not the whole truth); a failed
        cold read fails its user only. ValueError for unknown kinds or a bad limit."""
        read = {"kinds": kinds, "limit": limit, "since_ms": since_ms}
        return await self._read(user_ids, self.hot.recent_many, self.cold.recent, read)

    async def recent_json_many(
        self,
        user_ids: Sequence[str],
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
    ) -> list[ReadOutcome[JsonRow]]:
        """``recent_many`` with interactions in the API's shape; live users' come straight
        from the hot tier's encoding, without building Interaction objects."""
        read = {"kinds": kinds, "limit": limit, "since_ms": since_ms}
        return await self._read(user_ids, self.hot.recent_json_many, self._cold_json, read)

    async def _cold_json(self, user_id: str, **read: Any) -> list[JsonRow]:
        return [item.to_json() for item in await self.cold.recent(user_id, **read)]

    async def _read(
        self,
        user_ids: Sequence[str],
        hot_read: Callable[..., Awaitable[dict[str, list[Row]]]],
        cold_read: Callable[..., Awaitable[list[Row]]],
        read: dict[str, Any],
    ) -> list[ReadOutcome[Row]]:
        wanted = list(dict.fromkeys(user_ids))
        try:
            hot = await self._bounded(f"hot read of {len(wanted)} users", hot_read(wanted, **read))
        except StoreError as error:
            return [ReadFailed(user, error) for user in user_ids]
        cold_users = [user for user in wanted if user not in hot]
        cold_answers = await asyncio.gather(
            *(self._bounded(f"cold read of user {u!r}", cold_read(u, **read)) for u in cold_users),
            return_exceptions=True,
        )
        outcomes: dict[str, ReadOutcome[Row]] = {
            user: RecentInteractions(user, "hot", found) for user, found in hot.items()
        }
        for user, answer in zip(cold_users, cold_answers, strict=True):
            if isinstance(answer, StoreError):
                outcomes[user] = ReadFailed(user, answer)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                outcomes[user] = RecentInteractions(user, "cold", answer)
        return [outcomes[user] for user in user_ids]

    async def _bounded(self, what: str, read: Awaitable[T]) -> T:
        if self.timeout_s is None:
            return await read
        try:
            async with asyncio.timeout(self.timeout_s):
                return await read
        except TimeoutError as error:
            raise ReadTimedOut(f"{what}: no answer within {self.timeout_s:g}s") from error
