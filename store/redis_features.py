"""The feature store on Redis: serving values as plain strings, read with MGET.

On one node (the local stack) a read is one MGET for every key. On a Redis Cluster
(``INTERSTORE_REDIS_CLUSTER``), or with ``mget_per_slot``, it is one MGET per hash slot in one
pipeline: keys carry their entity's slot-group tag (``store.feature_store``), so that is at most
``SLOT_GROUPS`` MGETs whatever the number of ids, and redis-py's cluster pipeline sends one
pipeline per node, concurrently. Writes alike (MSET per slot).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, SlotNotCoveredError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.settings import FeatureSettings, RedisSettings
from store.errors import FeatureStoreError, FeatureStoreUnavailable
from store.feature_store import FeatureStore
from store.redis_pack import redis_client

T = TypeVar("T")


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
        self.per_slot = features.mget_per_slot or redis.cluster

    async def read_values(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
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
        except SlotNotCoveredError as error:
            raise FeatureStoreUnavailable(f"{what}: {type(error).__name__}: {error}") from error
        except (RedisError, RedisClusterException) as error:
            raise FeatureStoreError(f"{what}: {type(error).__name__}: {error}") from error
