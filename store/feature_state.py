"""The features worker's aggregation state: a working copy (Redis) and a durable copy (Cassandra).

Bytes-level: the state of an entity is an opaque blob (``features.state`` encodes it) with a
version. Every write of the working copy is a compare-and-set on that version, so two workers
that briefly own the same partition during a rebalance cannot overwrite each other's update: the
loser re-reads, re-applies (its source-offset fences skip what the winner applied) and tries
again. The durable copy keeps, per entity, the highest version written (Cassandra's write time
is the version), so a slow write from a worker that lost the partition cannot go back in time.

``shard`` names the Kafka partition that owns an entity (``u3``: events partition 3, for user and
user x category state; ``e3``: partition 3 of the repartition topic, for product and category
state). Reloads, the refresher's index and the sentinel work per shard.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

from store.errors import StoreError
from store.feature_store import serving_key

ID_SEPARATOR = "\x1f"


class FeatureStateUnavailable(StoreError):
    """The state store could not be reached or timed out: transient, retry the batch."""


class StateKey(NamedTuple):
    """An entity: its name and ids (a tuple: hashed and compared in C, on every batch)."""

    entity: str
    ids: tuple[str, ...]

    @property
    def joined(self) -> str:
        return ID_SEPARATOR.join(self.ids)

    def member(self) -> str:
        """The key as one string (index members, Cassandra rows)."""
        return f"{self.entity}{ID_SEPARATOR}{self.joined}"

    @classmethod
    def from_member(cls, member: str) -> StateKey:
        entity, *ids = member.split(ID_SEPARATOR)
        return cls(entity, tuple(ids))


STATE_GROUP = "_state"
"""The state's place among the entity's serving keys: no group name starts with ``_``."""


@functools.lru_cache(maxsize=65_536)  # read and written on every batch that touches the entity
def state_key(prefix: str, key: StateKey) -> str:
    """The serving key of the reserved group ``_state``: the same hash tag (the entity's first
    key) and escaping as the entity's values, so state and values share one slot."""
    return serving_key(prefix, key.entity, key.ids, STATE_GROUP)


class StoredState(NamedTuple):
    version: int
    blob: bytes


class StateWrite(NamedTuple):
    """One entity's compare-and-set: the new state (``blob`` None keeps the stored one) and its
    serving values, written only if the stored version is still ``expected`` (None: absent) and,
    when ``expected_digest`` is given, the stored state's SHA-1 (hex) is still that one."""

    shard: str
    key: StateKey
    expected: int | None
    version: int
    blob: bytes | None
    serving: dict[str, bytes]
    refresh_at_ms: int | None = None  # when the refresher must recompute the values; None: never
    expected_digest: str | None = None


class WorkingStateStore(ABC):
    """The copy the worker reads and writes on every batch (Redis)."""

    @abstractmethod
    async def lost_shards(self, shards: Sequence[str]) -> list[str]:
        """The shards whose sentinel is missing: the store lost (or never had) their data."""

    @abstractmethod
    async def mark_intact(self, shard: str) -> None:
        """Set the shard's sentinel (after its states were reloaded)."""

    @abstractmethod
    async def read(self, keys: Sequence[StateKey]) -> list[StoredState | None]:
        """The stored state of each key (None: absent)."""

    @abstractmethod
    async def write(self, writes: Sequence[StateWrite]) -> list[bool]:
        """Compare-and-set each write; True where it was written. Also keeps the refresher's
        index: ``refresh_at_ms`` per written entity."""

    @abstractmethod
    async def reload(self, shard: str, states: Sequence[StateWrite]) -> int:
        """Put durable states back: each is written unless a state of that version or newer is
        there. Returns how many were written."""

    async def erase(
        self, shards: Sequence[str], keys: Sequence[StateKey], values: Sequence[str]
    ) -> None:
        """Delete the serving values ``values`` and the entities ``keys`` from the refresh
        indexes of ``shards`` (forgetting; the states themselves are overwritten, versioned)."""
        raise NotImplementedError

    def for_prefix(self, prefix: str) -> WorkingStateStore:
        """The same store under another key prefix (a generation of the feature store)."""
        raise NotImplementedError

    @abstractmethod
    async def due(self, shard: str, now_ms: int, limit: int) -> list[StateKey]:
        """Entities of the shard whose values must be recomputed by ``now_ms``."""


class DurableStateStore(ABC):
    """The copy the working one is rebuilt from (Cassandra)."""

    @abstractmethod
    async def save(self, states: Sequence[tuple[str, StateKey, StoredState]]) -> None:
        """Write (shard, key, state) rows; an older version never replaces a newer one."""

    @abstractmethod
    async def load(self, shard: str) -> list[tuple[StateKey, StoredState]]:
        """Every state of the shard."""

    async def load_user(
        self, shard: str, entity: str, user_id: str
    ) -> list[tuple[StateKey, StoredState]]:
        """The shard's states of ``entity`` whose first key is ``user_id``."""
        raise NotImplementedError

    async def drop(self, shards: Sequence[str]) -> None:
        """Delete every state of the shards (a generation being dropped: never written again)."""
        raise NotImplementedError

    def for_generation(self, generation: int) -> DurableStateStore:
        """The same store for another generation of the feature store."""
        raise NotImplementedError

    async def flush(self) -> int:
        """Write the rows ``save`` holds back (``store.deferred_feature_state``); returns how
        many. A store that writes on ``save`` holds none."""
        return 0
