"""A real in-memory hot store for unit tests (test support, not shipped): the same semantics as
the Redis one.

It keeps what Redis keeps (a session record, views and a dirty set per user, three indexes per
partition), orders members the same way (score, then the encoded bytes) and changes one user at
a time, so unit tests of the worker, the tracker and the API see what production sees.

Failures on demand, without mocks: ``available = False`` fails every call with
HotStoreUnavailable; ``lose_everything()`` is a Redis restart without persistence (the sentinels
go too); ``expire_user(user)`` is a user's keys reaching their TTL (its index entries stay).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from core.clock import Clock, wall_clock_ms
from core.settings import RetentionSettings, SessionSettings
from store.cold import check_read, merge_newest_first, read_window
from store.hot import (
    Dirty,
    HotDataLost,
    HotStore,
    HotStoreUnavailable,
    Hydration,
    Item,
    check_partition,
)
from store.hot_codec import check_interaction, decode, encode
from store.interactions import INTERACTION_KINDS, Interaction

Index = dict[int, dict[str, int]]  # partition -> user -> score


@dataclasses.dataclass(slots=True)
class _Session:
    started_ms: int
    seen_ms: int
    partition: int
    views: dict[str, dict[bytes, Interaction]] = dataclasses.field(default_factory=dict)


def _ordered(scored: Mapping[str, int]) -> list[str]:
    return sorted(scored, key=lambda user: (scored[user], user.encode()))


class InMemoryHotStore(HotStore):
    def __init__(
        self,
        session: SessionSettings,
        retention: RetentionSettings,
        *,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self.settings = session
        self.retention = retention
        self.clock = clock
        self.available = True
        self._sessions: dict[str, _Session] = {}
        self._dirty: dict[str, dict[bytes, tuple[int, Interaction]]] = {}
        self._seen: Index = {}
        self._started: Index = {}
        self._dirty_offsets: Index = {}
        self._sentinels: set[int] = set()

    def lose_everything(self) -> None:
        """What a Redis restart without persistence, or FLUSHALL, does."""
        for state in (self._sessions, self._dirty, self._seen, self._started):
            state.clear()
        self._dirty_offsets.clear()
        self._sentinels.clear()

    def expire_user(self, user_id: str) -> None:
        """What key_ttl_s running out does to one user: its keys go, its index entries stay."""
        self._sessions.pop(user_id, None)
        self._dirty.pop(user_id, None)

    def _check(self, what: str) -> None:
        self._check_open(what)
        if not self.available:
            raise HotStoreUnavailable(f"{what}: unavailable on demand")

    async def live_users(self, user_ids: Iterable[str]) -> set[str]:
        self._check("live-users read")
        return {user for user in user_ids if user in self._sessions}

    async def hydrate_many(self, hydrations: Sequence[Hydration], *, now_ms: int) -> None:
        for _, rows, partition, members in hydrations:
            check_partition(partition)
            if unknown := [kind for kind in (*rows, *members) if kind not in INTERACTION_KINDS]:
                raise ValueError(f"kind {unknown[0]!r} is not an interaction kind")
        for user_id, rows, partition, members in hydrations:
            items = [Interaction.from_row(k, user_id, row) for k, of in rows.items() for row in of]
            items += [decode(user_id, member) for of in members.values() for _, member in of]
            self._hydrate(user_id, items, partition, now_ms)

    def _hydrate(
        self, user_id: str, interactions: Sequence[Interaction], partition: int, now_ms: int
    ) -> None:
        self._check(f"hydration of user {user_id!r}")
        session = self._sessions.get(user_id)
        if session is None:
            session = _Session(now_ms, now_ms, partition)
            self._sessions[user_id] = session
        session.seen_ms, session.partition = now_ms, partition
        self._seen.setdefault(partition, {})[user_id] = now_ms
        self._started.setdefault(partition, {})[user_id] = session.started_ms
        self._add_to_views(session, interactions)

    def _add_to_views(self, session: _Session, interactions: Iterable[Interaction]) -> None:
        touched = set()
        for item in interactions:
            session.views.setdefault(item.kind, {})[encode(item)] = item
            touched.add(item.kind)
        keep = self.settings.last_n_per_kind
        for kind in touched:
            view = session.views[kind]
            ranked = sorted(view.items(), key=lambda entry: (-entry[1].ts_ms, entry[0]))
            session.views[kind] = dict(ranked[:keep])

    async def touch(self, users: Mapping[int, Iterable[str]], *, now_ms: int) -> set[str]:
        self._check("touch")
        live: set[str] = set()
        for partition, of in users.items():
            check_partition(partition)
            for user in of:
                if user in self._sessions:
                    live.add(user)
                    self._sessions[user].seen_ms = now_ms
                    self._seen.setdefault(partition, {})[user] = now_ms
        return live

    async def append(self, items: Sequence[Item], now_ms: int) -> list[Item]:
        for item, partition, _ in items:
            check_interaction(item)
            check_partition(partition)
        self._check(f"append of {len(items)} interactions")
        groups: dict[tuple[str, int], list[tuple[Interaction, int]]] = {}
        for item, partition, offset in items:
            groups.setdefault((item.user_id, partition), []).append((item, offset))
        rejected: set[tuple[str, int]] = set()
        for (user, partition), group in groups.items():
            session = self._sessions.get(user)
            if session is None:
                rejected.add((user, partition))
                continue
            self._add_to_views(session, (item for item, _ in group))
            dirty = self._dirty.setdefault(user, {})
            for item, offset in group:
                member = encode(item)
                if member not in dirty or dirty[member][0] > offset:
                    dirty[member] = (offset, item)
            session.seen_ms = now_ms
            self._seen.setdefault(partition, {})[user] = now_ms
            offsets = self._dirty_offsets.setdefault(partition, {})
            lowest = min(offset for _, offset in group)
            offsets[user] = min(offsets.get(user, lowest), lowest)
        return [hot for hot in items if (hot[0].user_id, hot[1]) in rejected]

    async def recent_many(
        self,
        user_ids: Iterable[str],
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> dict[str, list[Interaction]]:
        wanted = check_read(kinds, limit)
        self._check("recent read")
        now = self.clock() if now_ms is None else now_ms
        found: dict[str, list[Interaction]] = {}
        for user in user_ids:
            session = self._sessions.get(user)
            if session is None:
                continue
            per_kind = []
            for kind in wanted:
                oldest, newest = read_window(self.retention.days(kind), now, since_ms)
                view = session.views.get(kind, {})
                ranked = sorted(view.items(), key=lambda entry: (-entry[1].ts_ms, entry[0]))
                inside = [item for _, item in ranked if oldest <= item.ts_ms <= newest]
                per_kind.append(inside[:limit])
            found[user] = merge_newest_first(per_kind, limit)
        return found

    async def sessions_to_flush(
        self, partition: int, *, idle_before_ms: int, started_before_ms: int, limit: int
    ) -> list[str]:
        self._check(f"sessions to flush of partition {partition}")
        seen = self._seen.get(partition, {})
        started = self._started.get(partition, {})
        idle = [user for user in _ordered(seen) if seen[user] < idle_before_ms]
        old = [user for user in _ordered(started) if started[user] < started_before_ms]
        return list(dict.fromkeys(idle[:limit] + old[:limit]))[:limit]

    async def sessions_of(self, partitions: Iterable[int]) -> dict[int, list[str]]:
        self._check("sessions of partitions")
        return {p: _ordered(self._seen.get(p, {})) for p in partitions}

    async def dirty(self, user_ids: Iterable[str]) -> dict[str, Dirty]:
        self._check("dirty read")
        found = {}
        for user in user_ids:
            entries = self._dirty.get(user, {})
            ranked = sorted(entries.items(), key=lambda entry: (entry[1][0], entry[0]))
            found[user] = Dirty([item for _, (_, item) in ranked], [m for m, _ in ranked])
        return found

    async def release_flushed(
        self, partition: int, flushed: Mapping[str, Dirty], *, evict: bool
    ) -> set[str]:
        """What the Redis script does per user (see ``store.redis_hot``)."""
        check_partition(partition)
        self._check(f"flush of {len(flushed)} sessions")
        ended = set()
        offsets = self._dirty_offsets.get(partition, {})
        for user, (_, members) in flushed.items():
            dirty = self._dirty.get(user, {})
            for member in members:
                dirty.pop(member, None)
            gone = user not in self._sessions
            if dirty or (not evict and not gone):
                if dirty:
                    offsets[user] = min(offset for offset, _ in dirty.values())
                else:
                    offsets.pop(user, None)
                continue
            if gone and not members and user in offsets:
                self.vanished_sessions += 1
                self._sentinels.discard(partition)
            self.expire_user(user)
            for index in (self._seen, self._started, self._dirty_offsets):
                index.get(partition, {}).pop(user, None)
            ended.add(user)
        return ended

    async def min_dirty_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        self._check("dirty offsets read")
        wanted = list(partitions)
        if lost := [p for p in wanted if p not in self._sentinels]:
            raise HotDataLost(lost)
        offsets = {p: self._dirty_offsets.get(p, {}) for p in wanted}
        return {p: min(users.values()) for p, users in offsets.items() if users}

    async def set_sentinel(self, partition: int) -> None:
        check_partition(partition)
        self._check(f"sentinel of {partition}")
        self._sentinels.add(partition)

    async def sentinel_ok(self, partition: int) -> bool:
        self._check(f"sentinel check of {partition}")
        return partition in self._sentinels
