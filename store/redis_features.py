"""The feature store on Redis: serving values as plain strings, read with MGET.

On one node (the local stack) a read is one MGET for every key; reads issued in one turn of the
event loop go out as one (``store.coalesced_reads``, unless ``coalesce_reads`` is off). With
``mget_per_slot`` it is one MGET per Redis Cluster hash slot, pipelined: what a cluster needs
(a multi-key command must stay in one slot), measurably slower on one node. Keys come from
``store.feature_store``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.settings import FeatureSettings, RedisSettings
from store.coalesced_reads import Coalescer
from store.errors import FeatureStoreError, FeatureStoreUnavailable
from store.feature_store import FeatureStore
from store.redis_pack import redis_client

T = TypeVar("T")
COALESCED_MAX_KEYS = 20_000
"""Keys of one coalesced read at most (more go out in another)."""


def slots_of(keys: Sequence[str]) -> dict[int, list[int]]:
    """Positions of ``keys`` grouped by Redis Cluster hash slot."""
    groups: dict[int, list[int]] = {}
    for position, key in enumerate(keys):
        groups.setdefault(key_slot(key.encode()), []).append(position)
    return groups


class RedisFeatureStore(FeatureStore):
    def __init__(self, redis: RedisSettings, features: FeatureSettings) -> None:
        """Connects lazily, on a connection pool of its own."""
        self.client = redis_client(redis)
        self.per_slot = features.mget_per_slot
        self._coalescer: Coalescer[bytes | None] | None = None
        if features.coalesce_reads:
            self._coalescer = Coalescer(self._read_values, COALESCED_MAX_KEYS)

    async def read_values(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        if self._coalescer is not None:
            return await self._coalescer.read(keys)
        return await self._read_values(keys)

    async def _read_values(self, keys: Sequence[str]) -> list[bytes | None]:
        what = f"feature read of {len(keys)} keys"
        if not self.per_slot:
            found: list[bytes | None] = await self._run(what, self.client.mget(keys))
            return found
        slots = list(slots_of(keys).values())
        async with self.client.pipeline(transaction=False) as pipe:
            for positions in slots:
                pipe.mget([keys[p] for p in positions])
            answers: list[list[bytes | None]] = await self._run(what, pipe.execute())
        out: list[bytes | None] = [None] * len(keys)
        for positions, values in zip(slots, answers, strict=True):
            for position, value in zip(positions, values, strict=True):
                out[position] = value
        return out

    async def write_values(self, values: Mapping[str, bytes]) -> None:
        if not values:
            return
        what = f"feature write of {len(values)} keys"
        if not self.per_slot:
            await self._run(what, self.client.mset(dict(values)))
            return
        keys = list(values)
        async with self.client.pipeline(transaction=False) as pipe:
            for positions in slots_of(keys).values():
                pipe.mset({keys[p]: values[keys[p]] for p in positions})
            await self._run(what, pipe.execute())

    async def ping(self) -> None:
        await self._run("feature store ping", self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()

    async def _run(self, what: str, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise FeatureStoreUnavailable(f"{what}: {type(error).__name__}: {error}") from error
        except RedisError as error:
            raise FeatureStoreError(f"{what}: {type(error).__name__}: {error}") from error
