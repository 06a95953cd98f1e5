"""The hot tier's narrow interface: live sessions in Redis (or Dragonfly), and what every
implementation shares.

A session is live from its hydration (``hydrate_many``; an app-open: the newest N per kind
copied from the cold tier) until a flush evicts it (``release_flushed``). While it is live, the
worker appends the user's new interactions: each goes to the user's bounded newest-first view of
its kind (what reads serve) and to the user's dirty set (what the tracker flushes to the cold
tier; never bounded, so nothing pushed out of the view is lost). Every dirty interaction
remembers its Kafka offset: per partition, the lowest offset still dirty
(``min_dirty_offsets``) is how far the durability watermark may advance.

Each user's state changes atomically (a reader never sees half a hydration or half an eviction),
and every write is idempotent (the same interaction always encodes to the same member), so a
replay from the watermark re-applies events without duplicates.

Data loss (a Redis restart without persistence, FLUSHALL, expired keys) looks exactly like "no
sessions". A sentinel per partition tells them apart: the owner sets it (``set_sentinel``) once
the partition's hot data is known complete (first start, or after a recovery has replayed the
partition from its durable watermark), checks it on every tracker tick (``sentinel_ok``), and
``min_dirty_offsets`` checks it in the same atomic read as the offsets. A session found expired
with unflushed interactions (``release_flushed``) removes its partition's sentinel: the same
recovery.

Two interfaces: ``HotReads`` is what the read path needs (recent interactions of live users);
``HotStore`` adds what the worker does with sessions, batch-oriented (many users per call, one
round trip where the backend can).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from store.errors import StoreError
from store.hot_codec import check_interaction, encode
from store.interactions import INTERACTION_KINDS, ColdRow, Interaction
from store.recent_views import HotMember

NO_MEMBERS: Mapping[str, Sequence[HotMember]] = MappingProxyType({})


class HotStoreError(StoreError):
    """A hot-tier operation failed."""


class HotStoreUnavailable(HotStoreError):
    """Redis could not be reached or timed out: transient. A failed write may have applied to
    some users of the batch; retry the whole batch (writes are idempotent)."""


class HotStoreFull(HotStoreUnavailable):
    """Redis refused a write for lack of memory (OOM under ``noeviction``): reads and deletes
    still work. The worker writes the affected users' interactions through to the cold tier
    and lets the tracker's flushes free memory; anything else retries like an outage."""


class HotDataLost(HotStoreError):
    """A partition's sentinel is gone: the hot tier lost data of these partitions (restart
    without persistence, FLUSHALL, expiry). Their sessions, dirty sets and offsets are not the
    truth: replay them from the durable watermark, then ``set_sentinel``."""

    def __init__(self, partitions: Iterable[int]) -> None:
        self.partitions = sorted(partitions)
        super().__init__(f"the hot tier lost data of partitions {self.partitions}")


class HotItem(NamedTuple):
    """An interaction to append, and where it was read from (the events topic)."""

    interaction: Interaction
    partition: int
    offset: int


Item = TypeVar("Item", bound=tuple[Interaction, int, int])
"""What ``append`` takes: a HotItem, or any (interaction, partition, offset) tuple."""


class Hydration(NamedTuple):
    """One user's hydration: its cold-tier rows per kind, its partition, and more of its
    interactions per kind already as hot-tier members (``ColdStore.hydration_members``: the
    store keeps them as they are)."""

    user_id: str
    rows: Mapping[str, Sequence[ColdRow]]
    partition: int
    members: Mapping[str, Sequence[HotMember]] = NO_MEMBERS

    @classmethod
    def of(cls, user_id: str, interactions: Sequence[Interaction], partition: int) -> Hydration:
        """From interactions (ValueError for one of another user or kind)."""
        rows: dict[str, list[ColdRow]] = {}
        for item in interactions:
            check_interaction(item, user_id)
            rows.setdefault(item.kind, []).append(item.row())
        return cls(user_id, rows, partition)


class Dirty(NamedTuple):
    """A session's dirty interactions in offset order, and their members as the store keeps
    them: a flush writes the interactions and hands the same members back to remove."""

    interactions: list[Interaction]
    members: list[bytes]

    @classmethod
    def of(cls, interactions: Sequence[Interaction]) -> Dirty:
        return cls(list(interactions), [encode(item) for item in interactions])


def check_partition(partition: int) -> None:
    if partition < 0:
        raise ValueError(f"partition must be >= 0, got {partition}")


class HotReads(ABC):
    """What the read path needs of the hot tier: live users' recent interactions."""

    _closed: bool = False

    @abstractmethod
    async def recent_many(
        self,
        user_ids: Iterable[str],
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> dict[str, list[Interaction]]:
        """``recent`` for many users in one round trip; only live users are in the result."""

    async def recent_json_many(
        self,
        user_ids: Iterable[str],
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """``recent_many`` with each interaction as ``Interaction.to_json`` gives it (the read
        API's shape). Stores override it to skip building the interactions."""
        found = await self.recent_many(
            user_ids, kinds=kinds, limit=limit, since_ms=since_ms, now_ms=now_ms
        )
        return {user: [item.to_json() for item in items] for user, items in found.items()}

    async def recent(
        self,
        user_id: str,
        *,
        kinds: Sequence[str] = INTERACTION_KINDS,
        limit: int = 100,
        since_ms: int | None = None,
        now_ms: int | None = None,
    ) -> list[Interaction] | None:
        """None if the user is not live; else ColdStore.recent's answer over the hot views:
        newest first across kinds, at most ``limit`` (and at most last_n_per_kind per kind),
        inside retention at ``now_ms``, ``ts >= since_ms``, at most a day ahead of now.
        Errors raise (never an empty list); ValueError for unknown kinds or a bad limit."""
        found = await self.recent_many(
            [user_id], kinds=kinds, limit=limit, since_ms=since_ms, now_ms=now_ms
        )
        return found.get(user_id)

    async def ping(self) -> None:
        """Raise HotStoreUnavailable unless the backend answers (a readiness check)."""
        self._check_open("ping")

    async def close(self) -> None:
        """Stop serving; later calls raise HotStoreError. (Override to release what the store
        owns, calling this too.)"""
        self._closed = True

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise HotStoreError(f"{what}: the hot store is closed")


class HotStore(HotReads):
    """Live sessions: bounded newest-first views per kind, dirty sets, per-partition indexes.

    ``vanished_sessions`` counts sessions ``release_flushed`` found gone (their keys expired:
    key_ttl_s too short or the tracker stalled) while the partition still held their lowest
    dirty offset: their unflushed interactions are only in Kafka now, and the partition's
    sentinel is gone.
    """

    vanished_sessions: int = 0

    @abstractmethod
    async def live_users(self, user_ids: Iterable[str]) -> set[str]:
        """Which of these users have a live session (one round trip)."""

    @abstractmethod
    async def hydrate_many(self, hydrations: Sequence[Hydration], *, now_ms: int) -> None:
        """Make each user's session live with the newest ``last_n_per_kind`` of its rows per
        kind (from the cold tier: not dirty); one round trip. Atomic per user. Idempotent:
        hydrating a live session again merges into its views and keeps its start time, dirty set
        and offsets. ValueError for an unknown kind or a negative partition. On an error some
        users may be hydrated and others not; hydrating again is harmless."""

    @abstractmethod
    async def touch(self, users: Mapping[int, Iterable[str]], *, now_ms: int) -> set[str]:
        """Refresh last-seen (and key TTLs) of those users that are live (``users``: per
        partition, one round trip for all); returns them. Never makes a session live."""

    @abstractmethod
    async def append(self, items: Sequence[Item], now_ms: int) -> list[Item]:
        """Add each interaction of a live user to its view (bounded, newest first) and to its
        dirty set (keeping the lowest offset it was seen at), and refresh last-seen (and key
        TTLs) as ``touch`` does. Per user atomic and conditional on the session being live; one
        round trip for the batch.

        Returns the items NOT appended because their user was not live at that instant, in
        input order: the caller writes them to the cold tier. ValueError for an unknown kind.
        """

    @abstractmethod
    async def sessions_to_flush(
        self, partition: int, *, idle_before_ms: int, started_before_ms: int, limit: int
    ) -> list[str]:
        """Up to ``limit`` users of the partition's index seen last before ``idle_before_ms``
        (longest idle first), then started before ``started_before_ms`` (oldest first)."""

    @abstractmethod
    async def sessions_of(self, partitions: Iterable[int]) -> dict[int, list[str]]:
        """Every session indexed under these partitions (e.g. the ones a rebalance revokes)."""

    @abstractmethod
    async def dirty(self, user_ids: Iterable[str]) -> dict[str, Dirty]:
        """Each user's dirty interactions (all of them, in offset order; empty if none), with
        the members they are kept as."""

    @abstractmethod
    async def release_flushed(
        self, partition: int, flushed: Mapping[str, Dirty], *, evict: bool
    ) -> set[str]:
        """After a flush wrote ``flushed`` (``dirty``'s answer) to the cold tier: for each user,
        remove exactly those members from its dirty set and recompute its lowest dirty offset.

        ``evict``: a user with nothing left dirty ends: all its keys and index entries go. A
        user dirtied meanwhile stays live. Without ``evict`` (a rebalance hands sessions over
        with nothing dirty) sessions stay live. Users whose keys are already gone are cleaned
        up from the partition's indexes; if one still had a dirty offset there, it is counted in
        ``vanished_sessions`` and the partition's sentinel is removed. Returns the users whose
        session ended. Atomic per user; one round trip."""

    @abstractmethod
    async def min_dirty_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        """Partition -> lowest Kafka offset of any interaction still dirty in it (partitions
        with nothing dirty are left out). Read atomically with the partitions' sentinels:
        HotDataLost if one is gone, since "nothing dirty" is then not the truth."""

    @abstractmethod
    async def set_sentinel(self, partition: int) -> None:
        """Declare the partition's hot data complete (after a start or a recovery)."""

    @abstractmethod
    async def sentinel_ok(self, partition: int) -> bool:
        """Whether the partition's sentinel is still there (refreshing its TTL and the TTLs of
        the partition's indexes). False: the hot tier lost data of this partition."""

    async def lost_partitions(self, partitions: Iterable[int]) -> list[int]:
        """Those of ``partitions`` whose sentinel is gone (``sentinel_ok``), sorted; a store may
        check them all in one round trip."""
        return [p for p in sorted(set(partitions)) if not await self.sentinel_ok(p)]
