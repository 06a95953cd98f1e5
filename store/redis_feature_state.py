"""The working copy of the aggregation state in Redis (``redis.asyncio`` with hiredis).

Per entity, a hash ``<prefix>:fv:<entity>:{<T>}:<first key>:...:_state`` with ``v`` (version) and
``s`` (the state). One Lua script sets the state and the entity's serving values together, only if
the version is still the one the worker read (and, for a state the worker did not read but kept
from its own last write, only if the stored state's SHA-1 is still that one's). One call of the
script writes every entity of a batch in one slot group, each decided on its own (1 or 0 per
entity): its keys all carry the group's hash tag, so it runs on Redis Cluster too, and a batch
costs at most ``SLOT_GROUPS`` script calls instead of one per entity. Per shard and slot group
(``store.redis_slots``: the entity keys' hash tag), a sorted set ``<prefix>:fx:<shard>:{<T>}``
(entity -> when its values must be recomputed) and a sentinel ``<prefix>:fsent:<shard>:{<T>}``
(present while the shard's states of that group are all here): each in the slot of the entities it
indexes or vouches for, so a cluster node restarted empty loses the sentinels of its groups with
their states, and the shard reloads. An entity's index entry is written by the same script call as
its state (the index shares the group's slot), only where the compare-and-set wrote; the sentinels
are separate commands. Reads too are one script call per slot group (``HMGET`` of each state):
the client's cost is per command, and a batch reads hundreds of states it does not keep.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from core.settings import RedisSettings
from store.feature_state import (
    FeatureStateUnavailable,
    StateKey,
    StateWrite,
    StoredState,
    WorkingStateStore,
    state_key,
)
from store.redis_pack import redis_client
from store.redis_slots import BRACED_TAGS, SLOT_GROUPS, slot_group

CAS_SCRIPT = """
local out, e, k, a = {}, 1, 1, 1
while k <= #KEYS do
  local n = tonumber(ARGV[a])
  local want, digest = ARGV[a + 1], ''
  local at = string.find(want, ':', 1, true)
  if at then digest = string.sub(want, at + 1); want = string.sub(want, 1, at - 1) end
  local state = KEYS[k]
  local ok = (redis.call('HGET', state, 'v') or '') == want
  if ok and digest ~= '' then
    ok = redis.sha1hex(redis.call('HGET', state, 's') or '') == digest
  end
  if ok then
    if ARGV[a + 3] == '' then redis.call('HSET', state, 'v', ARGV[a + 2])
    else redis.call('HSET', state, 'v', ARGV[a + 2], 's', ARGV[a + 3]) end
    for i = 1, n do redis.call('SET', KEYS[k + 1 + i], ARGV[a + 5 + i]) end
    if ARGV[a + 5] == '' then redis.call('ZREM', KEYS[k + 1], ARGV[a + 4])
    else redis.call('ZADD', KEYS[k + 1], ARGV[a + 5], ARGV[a + 4]) end
    out[e] = 1
  else
    out[e] = 0
  end
  e, k, a = e + 1, k + 2 + n, a + 6 + n
end
return out
"""
READ_SCRIPT = """
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HMGET', KEYS[i], 'v', 's') end
return out
"""
RELOAD_SCRIPT = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
if cur >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2])
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1]) end
return 1
"""
Command = tuple[Any, ...]


class RedisStateStore(WorkingStateStore):
    def __init__(self, redis: RedisSettings, prefix: str) -> None:
        """Connects lazily; every key starts with ``prefix`` (the features' key prefix)."""
        self.prefix = prefix
        self.client = redis_client(redis)
        self._shas: dict[str, str] = {}

    def for_prefix(self, prefix: str) -> RedisStateStore:
        """The same store (client, loaded scripts) under another key prefix: a generation's."""
        sibling = copy.copy(self)  # shares the client and the loaded scripts' shas
        sibling.prefix = prefix
        return sibling

    def _index(self, shard: str, group: int) -> str:
        return f"{self.prefix}:fx:{shard}:{BRACED_TAGS[group]}"

    def _sentinel(self, shard: str, group: int) -> str:
        return f"{self.prefix}:fsent:{shard}:{BRACED_TAGS[group]}"

    async def _run(self, what: str, commands: Sequence[Command]) -> list[Any]:
        """One pipeline round trip (scripts loaded on first use, and again after a restart)."""
        try:
            try:
                return await self._pipeline(commands)
            except NoScriptError:
                self._shas.clear()
                return await self._pipeline(commands)
        except (RedisError, RedisClusterException) as exc:
            raise FeatureStateUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc

    async def _pipeline(self, commands: Sequence[Command]) -> list[Any]:
        if not self._shas:
            scripts = (("cas", CAS_SCRIPT), ("reload", RELOAD_SCRIPT), ("read", READ_SCRIPT))
            for name, source in scripts:
                self._shas[name] = await self.client.script_load(source)
        async with self.client.pipeline(transaction=False) as pipe:
            for command in commands:
                if command[0] in self._shas:  # ("cas" | "reload" | "read", keys, args)
                    name, keys, args = command
                    pipe.execute_command("EVALSHA", self._shas[name], len(keys), *keys, *args)
                else:
                    pipe.execute_command(*command)
            return list(await pipe.execute())

    async def lost_shards(self, shards: Sequence[str]) -> list[str]:
        """Shards missing the sentinel of any slot group. On one node, first one EXISTS of
        every sentinel (the common answer: all there); per key only when one is missing, or
        on a cluster (its keys span slots)."""
        keys = [self._sentinel(shard, group) for shard in shards for group in range(SLOT_GROUPS)]
        if not keys:
            return []
        if not isinstance(self.client, RedisCluster):
            (present,) = await self._run("sentinel check", [("EXISTS", *keys)])
            if present == len(keys):
                return []
        found = await self._run("sentinel check", [("EXISTS", key) for key in keys])
        return [
            shard
            for i, shard in enumerate(shards)
            if not all(found[i * SLOT_GROUPS : (i + 1) * SLOT_GROUPS])
        ]

    async def mark_intact(self, shard: str) -> None:
        commands = [("SET", self._sentinel(shard, group), "1") for group in range(SLOT_GROUPS)]
        await self._run("sentinel", commands)

    async def read(self, keys: Sequence[StateKey]) -> list[StoredState | None]:
        """One script call per slot group reads all of the group's states (one command each
        instead of one HMGET per state: the client's cost is per command)."""
        if not keys:
            return []
        grouped: dict[int, tuple[list[int], list[str]]] = {}
        for i, key in enumerate(keys):
            found = grouped.get(group := slot_group(key.ids[0]))
            if found is None:
                found = grouped[group] = ([], [])
            found[0].append(i)
            found[1].append(state_key(self.prefix, key))
        commands: list[Command] = [("read", listed, ()) for _, listed in grouped.values()]
        replies = await self._run(f"read of {len(keys)} states", commands)
        out: list[StoredState | None] = [None] * len(keys)
        for (order, _), reply in zip(grouped.values(), replies, strict=True):
            for i, (version, blob) in zip(order, reply, strict=True):
                if version is not None:
                    out[i] = StoredState(int(version), blob)
        return out

    async def write(self, writes: Sequence[StateWrite]) -> list[bool]:
        """One script call per slot group: each entity's compare-and-set and, where it wrote,
        its refresh index entry (ZADD at ``refresh_at_ms``, or ZREM)."""
        if not writes:
            return []
        grouped: dict[int, tuple[list[int], list[Any], list[Any]]] = {}
        for i, w in enumerate(writes):
            found = grouped.get(group := slot_group(w.key.ids[0]))
            if found is None:
                found = grouped[group] = ([], [], [])
            order, keys, args = found
            order.append(i)
            keys.append(state_key(self.prefix, w.key))
            keys.append(self._index(w.shard, group))
            keys += w.serving
            expected = "" if w.expected is None else str(w.expected)
            if w.expected_digest is not None:
                expected += f":{w.expected_digest}"
            refresh = "" if w.refresh_at_ms is None else w.refresh_at_ms
            args += (
                len(w.serving), expected, w.version, w.blob or b"", w.key.member(), refresh,
                *w.serving.values(),
            )  # fmt: skip
        commands: list[Command] = [("cas", keys, args) for _, keys, args in grouped.values()]
        replies = await self._run(f"write of {len(writes)} states", commands)
        done = [False] * len(writes)
        for (order, _, _), reply in zip(grouped.values(), replies, strict=True):
            for i, ok in zip(order, reply, strict=True):
                done[i] = bool(ok)
        return done

    async def _reindex(self, writes: Sequence[StateWrite]) -> None:
        """One ZADD (and one ZREM) per shard and slot group for all its written entities, not
        one per entity."""
        added: dict[tuple[str, int], list[Any]] = {}
        removed: dict[tuple[str, int], list[str]] = {}
        for w in writes:
            where = (w.shard, slot_group(w.key.ids[0]))
            if w.refresh_at_ms is None:
                removed.setdefault(where, []).append(w.key.member())
            else:
                added.setdefault(where, []).extend((w.refresh_at_ms, w.key.member()))
        commands: list[Command] = [
            ("ZADD", self._index(*where), *pairs) for where, pairs in added.items()
        ]
        commands += [("ZREM", self._index(*where), *members) for where, members in removed.items()]
        if commands:
            await self._run("refresh index", commands)

    async def reload(self, shard: str, states: Sequence[StateWrite]) -> int:
        if not states:
            return 0
        commands: list[Command] = []
        for w in states:
            keys = [state_key(self.prefix, w.key), *w.serving]
            commands.append(("reload", keys, [str(w.version), w.blob or b"", *w.serving.values()]))
        done = [bool(r) for r in await self._run(f"reload of {len(states)} states", commands)]
        await self._reindex([w for w, ok in zip(states, done, strict=True) if ok])
        return sum(done)

    async def erase(
        self, shards: Sequence[str], keys: Sequence[StateKey], values: Sequence[str]
    ) -> None:
        """Delete serving values and take the entities out of the shards' refresh indexes (their
        states are replaced by ``write``, versioned, not deleted)."""
        members = [key.member() for key in keys]
        commands: list[Command] = [("DEL", value) for value in values]
        groups: dict[int, list[str]] = {}
        for key, member in zip(keys, members, strict=True):
            groups.setdefault(slot_group(key.ids[0]), []).append(member)
        commands += [
            ("ZREM", self._index(shard, group), *grouped)
            for shard in shards
            for group, grouped in groups.items()
        ]
        if commands:
            await self._run("erase of feature values", commands)

    async def due(self, shard: str, now_ms: int, limit: int) -> list[StateKey]:
        """The ``limit`` most overdue entities of the shard, over every slot group's index."""
        commands = [
            (
                "ZRANGEBYSCORE",
                self._index(shard, g),
                "-inf",
                now_ms,
                "WITHSCORES",
                "LIMIT",
                0,
                limit,
            )
            for g in range(SLOT_GROUPS)
        ]
        replies = await self._run("refresh index read", commands)
        due = sorted((float(score), member) for reply in replies for member, score in reply)
        return [
            StateKey.from_member(m.decode() if isinstance(m, bytes) else m) for _, m in due[:limit]
        ]

    async def close(self) -> None:
        await self.client.aclose()
