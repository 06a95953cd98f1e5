"""The hot store's per-partition operations on Redis: a partition's indexes and sentinels are
kept per slot group (``store.redis_hot_scripts``), so each is one script over every group on a
single node, or one per group on a Redis Cluster (``eval_per_slot``), all in one round trip."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from store.hot import HotDataLost, HotStore, check_partition
from store.redis_hot_commands import Command, eval_per_slot
from store.redis_hot_scripts import DIRTY_OFFSETS, FLUSH_DUE, MEMBERS, SENTINELS, KeyLayout
from store.redis_slots import SLOT_GROUPS

GROUPS = range(SLOT_GROUPS)


class RedisPartitionIndexes(HotStore):
    """What ``RedisHotStore`` does per partition (it provides ``keys``, ``cluster``, ``_ttl``
    and ``_run``)."""

    keys: KeyLayout
    cluster: bool
    _ttl: str

    async def _run(
        self, what: str, commands: Iterable[Command], *, transaction: bool = False
    ) -> list[Any]:
        raise NotImplementedError

    async def sessions_to_flush(
        self, partition: int, *, idle_before_ms: int, started_before_ms: int, limit: int
    ) -> list[str]:
        """Idle sessions first (longest idle first), then over-long ones (oldest first): each
        slot group's ``limit`` first, merged."""
        keys = {g: self.keys.partition_keys(partition, g)[:2] for g in GROUPS}
        args = (idle_before_ms, started_before_ms, limit)
        commands = eval_per_slot(FLUSH_DUE, keys, args, cluster=self.cluster)
        replies = await self._run(f"sessions to flush of partition {partition}", commands)
        found = [per_key for reply in replies for per_key in reply]
        users: list[str] = []
        for part in (found[::2], found[1::2]):  # idle, then over-long
            scored = sorted(
                (float(flat[i + 1]), flat[i]) for flat in part for i in range(0, len(flat), 2)
            )
            users += (member.decode() for _, member in scored[:limit])
        return list(dict.fromkeys(users))[:limit]

    async def sessions_of(self, partitions: Iterable[int]) -> dict[int, list[str]]:
        wanted = list(partitions)
        keys = {g: [self.keys.partition_keys(p, g)[0] for p in wanted] for g in GROUPS}
        commands = eval_per_slot(MEMBERS, keys, (), cluster=self.cluster)
        replies = await self._run(f"sessions of partitions {wanted}", commands)
        found = [per_key for reply in replies for per_key in reply]
        sessions: dict[int, list[str]] = {p: [] for p in wanted}
        for i, members in enumerate(found):
            sessions[wanted[i % len(wanted)]] += (m.decode() for m in members)
        return sessions

    async def min_dirty_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        """Each group's sentinel and lowest offset are read in one script (atomically), so an
        offset is never taken from a group whose data was lost."""
        wanted = list(partitions)
        keys = {
            group: [
                key
                for p in wanted
                for key in (self.keys.sentinel(p, group), self.keys.partition_keys(p, group)[2])
            ]
            for group in GROUPS
        }
        commands = eval_per_slot(DIRTY_OFFSETS, keys, (), cluster=self.cluster)
        replies = [
            value
            for reply in await self._run(f"dirty offsets of {wanted}", commands)
            for value in reply
        ]
        lost: set[int] = set()
        lowest: dict[int, int] = {}
        for i, (intact, low) in enumerate(zip(replies[::2], replies[1::2], strict=True)):
            p = wanted[i % len(wanted)]
            if not intact:
                lost.add(p)
            elif low:  # offsets < 2**53 are exact as a double's text
                offset = int(float(low))
                lowest[p] = min(offset, lowest.get(p, offset))
        if lost:
            raise HotDataLost(lost)
        return lowest

    async def set_sentinel(self, partition: int) -> None:
        check_partition(partition)
        commands = [("SET", self.keys.sentinel(partition, g), 1, "EX", self._ttl) for g in GROUPS]
        await self._run(f"sentinel of {partition}", commands)

    async def sentinel_ok(self, partition: int) -> bool:
        """Every slot group's sentinel is there (their TTLs, and the indexes', renewed)."""
        return not await self.lost_partitions([partition])

    async def lost_partitions(self, partitions: Iterable[int]) -> list[int]:
        """``sentinel_ok`` of every partition in one round trip (a group's keys of all
        partitions share its slot): one EVAL on a node, one per group on a cluster."""
        ordered = sorted(set(partitions))
        if not ordered:
            return []
        for partition in ordered:
            check_partition(partition)
        keys = {
            g: [
                key
                for p in ordered
                for key in (self.keys.sentinel(p, g), *self.keys.partition_keys(p, g))
            ]
            for g in GROUPS
        }
        commands = eval_per_slot(SENTINELS, keys, (self._ttl,), cluster=self.cluster)
        found = await self._run(f"sentinel check of {ordered}", commands)
        flags = [there for reply in found for there in reply]  # per group, then partition
        return [p for i, p in enumerate(ordered) if not all(flags[i :: len(ordered)])]
