"""Generations of the feature store: which one readers and the live worker use, and the fence
a rebuild holds while it switches them to a new one.

A generation is a key prefix: generation 0 is the configured prefix itself (``isf``), generation
``g`` is ``<prefix>~g<g>``; every key of the feature store (serving values, states, refresh
indexes, sentinels) is built under it, so a new generation is built beside the current one and
dropped whole. The durable copy names its partitions the same way (``durable_shard``).

Five control keys share one hash slot (``{<prefix>~gen}``), so one MGET or script reads or
changes them together on Redis Cluster too:

- ``current``: ``"<generation> <definitions digest>"`` (absent: generation 0, any definitions);
- ``fingerprints``: ``{"generation": g, "groups": {group: fingerprint}}`` (JSON), the per-group
  fingerprints (``Catalogue.fingerprints``) the current generation was built with, set by the
  same script as ``current`` (absent, or naming another generation: unknown);
- ``pause``: a rebuild's token, with an expiry: while present, the live worker applies nothing;
- ``next``: the last generation number handed out (INCR), so numbers are never reused;
- ``building``: the generation a rebuild is writing (forgetting a user erases there too).

The switch is one script: if the pause is still the rebuild's, set ``current`` and
``fingerprints`` and delete the pause. A worker reads ``current`` and ``pause`` in one MGET after
consuming a batch and before applying it, so it either waits, or writes the generation that was
current when it looked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisError

from store.errors import FeatureStoreUnavailable
from store.feature_state import FeatureStateUnavailable
from store.feature_store import FeatureStore
from store.redis_pack import scan_keys

SWITCH_SCRIPT = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
redis.call('DEL', KEYS[2])
return 1
"""
UNPAUSE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def generation_prefix(prefix: str, generation: int) -> str:
    """The key prefix of a generation (generation 0 is the configured prefix)."""
    return prefix if generation == 0 else f"{prefix}~g{generation}"


def durable_shard(shard: str, generation: int) -> str:
    """The durable copy's partition of a shard in a generation."""
    return shard if generation == 0 else f"{shard}~g{generation}"


def control_key(prefix: str, name: str) -> str:
    """``current``, ``fingerprints``, ``pause``, ``next`` or ``building``: outside every
    generation's ``<prefix>:*`` pattern."""
    return f"{prefix}~gen:{{{prefix}~gen}}:{name}"


@dataclass(frozen=True, slots=True)
class Generation:
    number: int
    definitions: str
    """The digest of the definitions it was built with ("" for generation 0: any)."""

    def encode(self) -> str:
        return f"{self.number} {self.definitions}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> Generation:
        if raw is None:
            return cls(0, "")
        text = raw.decode() if isinstance(raw, bytes) else raw
        number, _, definitions = text.partition(" ")
        return cls(int(number), definitions)


def encode_fingerprints(generation: int, fingerprints: Mapping[str, str]) -> bytes:
    return orjson.dumps({"generation": generation, "groups": dict(fingerprints)})


def decode_fingerprints(raw: bytes | str | None, generation: int) -> dict[str, str] | None:
    """The groups' fingerprints recorded for ``generation``; None if unknown (never recorded:
    generation 0, or a generation switched to before fingerprints were recorded)."""
    if raw is None:
        return None
    found = orjson.loads(raw)
    if found.get("generation") != generation:
        return None
    return {str(name): str(value) for name, value in found["groups"].items()}


def changed_groups(recorded: Mapping[str, str], loaded: Mapping[str, str]) -> list[str]:
    """The groups of ``loaded`` whose fingerprint differs from ``recorded`` or that it lacks
    (a group only ``recorded`` has was removed: nothing to compute, so not counted)."""
    return sorted(name for name, value in loaded.items() if recorded.get(name) != value)


class GenerationMismatch(FeatureStateUnavailable):
    """The current generation was built from other definitions than this worker's: it waits
    (retrying) rather than write values the readers of that generation would not expect."""


class GenerationPointer:
    """The readers' view: the current generation's key prefix, read through the feature store
    and kept ``ttl_s`` (a rebuild drops the old generation only after readers' copies expired).
    One read resolves one prefix, so a read never mixes generations."""

    def __init__(
        self,
        store: FeatureStore,
        prefix: str,
        *,
        ttl_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.monotonic = monotonic
        self._key = control_key(prefix, "current")
        self._cached: tuple[float, str] | None = None

    def fresh(self) -> str | None:
        """The cached prefix while it is fresh, else None (``current_prefix`` reads it)."""
        if self._cached is not None and self.monotonic() - self._cached[0] < self.ttl_s:
            return self._cached[1]
        return None

    async def current_prefix(self) -> str:
        now = self.monotonic()
        if self._cached is not None and now - self._cached[0] < self.ttl_s:
            return self._cached[1]
        (raw,) = await self.store.read_values([self._key])
        found = generation_prefix(self.prefix, Generation.decode(raw).number)
        self._cached = (now, found)
        return found


class GenerationControl:
    """The control keys on Redis (the worker's gate, the rebuild's pause and switch)."""

    def __init__(self, client: Redis | RedisCluster, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.current_key = control_key(prefix, "current")
        self.fingerprints_key = control_key(prefix, "fingerprints")
        self.pause_key = control_key(prefix, "pause")
        self.next_key = control_key(prefix, "next")
        self.building_key = control_key(prefix, "building")

    async def state(self) -> tuple[Generation, bool]:
        """The current generation and whether a rebuild holds the pause (one MGET)."""
        found = await self._call(self.client.mget([self.current_key, self.pause_key]))
        return Generation.decode(found[0]), found[1] is not None

    async def recorded(self) -> tuple[Generation, dict[str, str] | None]:
        """The current generation and the groups' fingerprints it was built with (None:
        unknown), read together (one MGET)."""
        found = await self._call(self.client.mget([self.current_key, self.fingerprints_key]))
        current = Generation.decode(found[0])
        return current, decode_fingerprints(found[1], current.number)

    async def begin(self, generation: int) -> None:
        """Note the generation being built (forgetting erases there too)."""
        await self._call(self.client.set(self.building_key, generation))

    async def end(self, generation: int) -> None:
        """The generation is no longer being built (switched to, or abandoned)."""
        await self._call(self.client.eval(UNPAUSE_SCRIPT, 1, self.building_key, generation))

    async def live(self) -> list[int]:
        """The current generation and the one being built, if any."""
        found = await self._call(self.client.mget([self.current_key, self.building_key]))
        numbers = [Generation.decode(found[0]).number]
        if found[1] is not None and int(found[1]) not in numbers:
            numbers.append(int(found[1]))
        return numbers

    async def writable(self, definitions: str, *, poll_s: float = 0.05) -> int:
        """The generation to write now: waits while a rebuild holds the pause; raises
        GenerationMismatch if the current one was built from other definitions."""
        while True:
            current, paused = await self.state()
            if not paused:
                break
            await asyncio.sleep(poll_s)
        if current.definitions and current.definitions != definitions:
            raise GenerationMismatch(
                f"feature generation {current.number} was built from definitions "
                f"{current.definitions}, this process has {definitions}: restart it with the "
                "definitions file of the rebuild"
            )
        return current.number

    async def new_number(self) -> int:
        """A generation number never handed out before (at least current + 1)."""
        current, _ = await self.state()
        number = int(await self._call(self.client.incr(self.next_key)))
        if number <= current.number:
            number = int(await self._call(self.client.incrby(self.next_key, current.number)))
        return number

    async def pause(self, token: str, ttl_ms: int) -> bool:
        """Take the pause (False if another rebuild holds it)."""
        return bool(await self._call(self.client.set(self.pause_key, token, nx=True, px=ttl_ms)))

    async def renew(self, token: str, ttl_ms: int) -> bool:
        """Extend our pause; False if it expired (the worker may have applied meanwhile)."""
        renewed = self.client.eval(RENEW_SCRIPT, 1, self.pause_key, token, ttl_ms)
        return bool(await self._call(renewed))

    async def unpause(self, token: str) -> None:
        await self._call(self.client.eval(UNPAUSE_SCRIPT, 1, self.pause_key, token))

    async def switch(
        self, token: str, generation: Generation, fingerprints: Mapping[str, str]
    ) -> bool:
        """Make ``generation`` current, built with the groups' ``fingerprints``, and release the
        pause, only while ``token`` holds it."""
        keys = (self.current_key, self.pause_key, self.fingerprints_key)
        encoded = encode_fingerprints(generation.number, fingerprints)
        done = self.client.eval(SWITCH_SCRIPT, 3, *keys, token, generation.encode(), encoded)
        return bool(await self._call(done))

    async def drop(self, generation: int, *, batch: int = 1000) -> int:
        """Delete every key of a generation (its serving values, states, indexes, sentinels),
        on every primary of a cluster; UNLINK of keys of many slots is split per slot."""
        pattern = _glob_escape(generation_prefix(self.prefix, generation)) + ":*"
        dropped = 0
        keys: list[bytes] = []
        try:
            async for key in scan_keys(self.client, pattern, count=batch):
                keys.append(key)
                if len(keys) >= batch:
                    dropped += await self.client.unlink(*keys)
                    keys = []
            if keys:
                dropped += await self.client.unlink(*keys)
        except RedisError as exc:
            raise FeatureStoreUnavailable(f"dropping generation {generation}: {exc}") from exc
        return dropped

    async def _call(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except RedisError as exc:
            raise FeatureStateUnavailable(f"feature generation control: {exc}") from exc


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
