"""The feature store on Redis: serving values as plain strings, read with MGET.

On one node (the local stack) a read is one MGET for every key; reads issued in one turn of the
event loop go out as one (``store.coalesced_reads``, unless ``coalesce_reads`` is off), then
split as below. On a Redis Cluster
(``INTERSTORE_REDIS_CLUSTER``), or with ``mget_per_slot``, it is one MGET per hash slot in one
pipeline: keys carry their entity's slot-group tag (``store.feature_store``), so that is at most
``SLOT_GROUPS`` MGETs whatever the number of ids, and redis-py's cluster pipeline sends one
pipeline per node, concurrently. Writes alike (MSET per slot).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, SlotNotCoveredError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.settings import FeatureSettings, RedisSettings
from store.coalesced_reads import Coalescer
from store.errors import FeatureStoreError, FeatureStoreUnavailable
from store.feature_store import FeatureStore
from store.redis_pack import redis_client

T = TypeVar("T")
COALESCED_MAX_KEYS = 20_000
"""Keys of one coalesced read at most (more go out in another)."""


def slots_of(keys: Sequence[str]) -> dict[str, list[int]]:
    """Positions of ``keys`` grouped by hash tag (Redis's rule: the text between the first ``{``
    and the next ``}``, if not empty; else the whole key): keys of one group share a slot. A
    few string operations per key, not a CRC16 (feature keys carry one of 16 tags)."""
    groups: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        start = key.find("{")
        end = key.find("}", start + 1) if start >= 0 else -1
        tag = key[start + 1 : end] if end > start + 1 else key
        groups.setdefault(tag, []).append(position)
    return groups


class RedisFeatureStore(FeatureStore):
    def __init__(self, redis: RedisSettings, features: FeatureSettings) -> None:
        """Connects lazily, on a connection pool of its own."""
        self.client = redis_client(redis)
        self.per_slot = features.mget_per_slot or redis.cluster
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
                group = [keys[p] for p in positions]
                pipe.execute_command("MGET", *group, **self._node_of(group[0]))
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
                pairs = (part for p in positions for part in (keys[p], values[keys[p]]))
                pipe.execute_command("MSET", *pairs, **self._node_of(keys[positions[0]]))
            await self._run(what, pipe.execute())

    def _node_of(self, key: str) -> dict[str, Any]:
        """On a cluster, the node of ``key``'s slot, named to redis-py (``target_nodes``): its
        cluster pipeline would otherwise compute the slot of every key of an MGET, twice, in
        Python (the larger part of a 1,000-key read's CPU). A key that moved meanwhile is
        redirected (MOVED) by redis-py as usual. MGET and MSET go by name: its cluster
        pipeline refuses the ``mget()``/``mset()`` methods."""
        if isinstance(self.client, RedisCluster):
            return {"target_nodes": self.client.get_node_from_key(key)}
        return {}

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
