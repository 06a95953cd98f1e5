"""Which entities an event updates, and which shard owns each: shared by the features worker
(``streams.features.records``), the replay's features target and the rebuild (``ops``), so all
of them build the same states from the same events.

A shard names the Kafka partition that owns an entity: ``u3`` for entities keyed first by
``user_id`` (events partition 3: the topic is keyed by user), ``e3`` for the others (partition
3 of the repartition topic: Kafka's default partitioner, murmur2, of the entity's first key).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.partitioner import murmur2

from features.aggregate import FeatureEvent, entity_id
from features.plan import EntityPlan
from features.updater import LOCAL_KEY, EntityBatch, user_keyed
from store.feature_state import StateKey
from store.interactions import INTERACTION_KINDS, Interaction

__all__ = ["LOCAL_KEY", "user_keyed"]


def local_shard(partition: int) -> str:
    return f"u{partition}"


def entity_shard(partition: int) -> str:
    return f"e{partition}"


@functools.lru_cache(maxsize=65_536)  # every product and category event asks
def repartition_of(first_key: str, partitions: int) -> int:
    """The repartition partition of an entity: Kafka's default partitioner of its first key."""
    hashed: int = murmur2(first_key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def feature_event(
    kind: str, record: Mapping[str, Any], partition: int, offset: int
) -> FeatureEvent | None:
    """A valid decoded event as the definitions name its fields; None for a kind features
    ignore (app_open)."""
    if kind not in INTERACTION_KINDS:
        return None
    interaction = Interaction.from_record(kind, record)
    fields = {**interaction.to_json(), "user_id": interaction.user_id}
    return FeatureEvent(kind, interaction.ts_ms, fields, partition, offset)


def entity_batches(
    plans: Mapping[str, EntityPlan],
    events: Iterable[FeatureEvent],
    partitions: int,
    *,
    users_only: bool = False,
) -> list[EntityBatch]:
    """Every entity's events in source order, each under the shard that owns it, as one
    process that reads every partition sees them (the replay, the rebuild). ``partitions``:
    the repartition topic's (the events topic's). ``users_only``: only user-keyed entities."""
    batches: dict[StateKey, EntityBatch] = {}
    for event in events:
        for plan in plans.values():
            local = user_keyed(plan)
            if users_only and not local:
                continue
            ids = entity_id(plan.keys, event.fields)
            if ids is None:
                continue
            key = StateKey(plan.entity, ids)
            batch = batches.get(key)
            if batch is None:
                shard = (
                    local_shard(event.partition)
                    if local
                    else entity_shard(repartition_of(ids[0], partitions))
                )
                batch = batches[key] = EntityBatch(shard, key)
            batch.events.append(event)
    return list(batches.values())
