"""One user's hot-tier state, for operators: what is there, and erasing it without a flush.

Uses the hot store's client and key layout (``store.redis_hot_scripts``), so it sees exactly
the keys the worker writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from store.hot import HotStoreError, HotStoreUnavailable
from store.interactions import INTERACTION_KINDS
from store.redis_hot import RedisHotStore
from store.redis_slots import slot_group

ERASE_SCRIPT = """
-- KEYS: the user's keys (ARGV[2] of them), then its partition's index keys of the user's slot
-- group (one slot). ARGV[1]: the user.
local own = tonumber(ARGV[2])
for k = 1, own do redis.call('DEL', KEYS[k]) end
for k = own + 1, #KEYS do redis.call('ZREM', KEYS[k], ARGV[1]) end
return 1
"""


@dataclass(frozen=True, slots=True)
class HotState:
    live: bool
    started_ms: int | None
    seen_ms: int | None
    partition: int | None
    dirty: int
    views: dict[str, tuple[int, int | None]]
    """Per kind: interactions in the view, and the newest ts."""


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class RedisUserData:
    def __init__(self, hot: RedisHotStore) -> None:
        self._client = hot.client
        self._keys = hot.keys

    async def _run(self, what: str, *commands: tuple[Any, ...]) -> list[Any]:
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                return list(await pipe.execute())
        except (RedisConnectionError, RedisTimeoutError) as error:
            raise HotStoreUnavailable(f"{what}: {type(error).__name__}: {error}") from error
        except RedisError as error:
            raise HotStoreError(f"{what}: {type(error).__name__}: {error}") from error

    async def state(self, user_id: str) -> HotState:
        session, dirty, *views = self._keys.user_keys(user_id)
        commands: list[tuple[Any, ...]] = [("HGETALL", session), ("ZCARD", dirty)]
        for view in views:
            commands += [("ZCARD", view), ("ZRANGE", view, 0, 0, "WITHSCORES")]
        replies = await self._run(f"hot state of user {user_id!r}", *commands)
        fields = {_text(k): _text(v) for k, v in (replies[0] or {}).items()}
        per_kind: dict[str, tuple[int, int | None]] = {}
        for i, kind in enumerate(INTERACTION_KINDS):
            count, first = replies[2 + 2 * i], replies[3 + 2 * i]
            per_kind[kind] = (int(count), _newest_ts(first))
        return HotState(
            live=bool(fields),
            started_ms=_int(fields.get("started")),
            seen_ms=_int(fields.get("seen")),
            partition=_int(fields.get("partition")),
            dirty=int(replies[1]),
            views=per_kind,
        )

    async def erase(self, user_id: str) -> HotState:
        """End the user's session without flushing it: its views, dirty set and session go,
        and its entries in its partition's indexes (so the durability watermark moves on).
        Returns what was there."""
        before = await self.state(user_id)
        own = self._keys.user_keys(user_id)
        group = slot_group(user_id)
        extra = (
            [] if before.partition is None else self._keys.partition_keys(before.partition, group)
        )
        keys = [*own, *extra]
        command = ("EVAL", ERASE_SCRIPT, len(keys), *keys, user_id, len(own))
        await self._run(f"erase of user {user_id!r}", command)
        return before


def _newest_ts(reply: Any) -> int | None:
    """The ts of a view's first member from ``ZRANGE 0 0 WITHSCORES`` (score = -ts): a flat
    [member, score] reply, or [[member, score]] where the client pairs them."""
    if not reply:
        return None
    score = reply[0][1] if isinstance(reply[0], list | tuple) else reply[1]
    return -int(float(score))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
