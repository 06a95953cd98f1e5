"""From consumed messages to entity batches, and the repartition topic's records.

The events topic is keyed by user: entities whose first key is ``user_id`` (user, user x
category) are aggregated where their events already are. Every other entity (product, category)
gets its events through the repartition topic: each entity's repartition partition is Kafka's
default partitioner (murmur2) of the entity's first key, so one partition holds each entity.
One consumed batch sends one record per repartition partition it touches (at most
``RECORD_ENTRIES`` entity events each), not one per entity event: Faust's per-message cost and
the broker's are paid per record. Each entry carries the event's source partition and offset,
which the entity's fences use: a source partition's entries reach a repartition partition in
order, so "skip at or below the fence" makes redeliveries count once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

from core.settings import Settings
from features.aggregate import FeatureEvent, entity_id
from features.packing import packer
from features.plan import EntityPlan
from features.routing import entity_shard, local_shard, repartition_of, user_keyed
from features.routing import feature_event as routed_event
from features.updater import EntityBatch
from schemas.codec import Codec
from schemas.errors import SchemaError
from schemas.validation import DEFAULT_LIMITS, check_payload_size, validate
from store.feature_state import StateKey
from streams.messages import RawMessage

__all__ = ["entity_shard", "local_shard", "repartition_of"]  # the app imports them from here
RECORD_ENTRIES = 1000
"""At most this many entity events in one repartition record (a record stays well under 1 MB)."""


def repartition_topic_name(settings: Settings) -> str:
    """The repartition topic: the events topic's name plus ``repartition_suffix``."""
    return settings.topics.events + settings.features_worker.repartition_suffix


@dataclass(slots=True)
class Routed:
    """One consumed batch: per local entity its events, the repartition records as
    (partition, key, value), and the bad messages skipped (the ingest worker dead-letters them)."""

    local: list[EntityBatch] = field(default_factory=list)
    outgoing: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    repartitioned: int = 0  # entity events in ``outgoing`` (several per record)
    bad: int = 0
    ignored: int = 0  # valid events no feature reads (app_open)


def feature_event(codec: Codec, message: RawMessage, now_ms: int) -> FeatureEvent | None:
    """The event's fields, as the definitions name them; None for a kind features ignore.
    Raises SchemaError for a bad message (the same checks as the ingest worker's)."""
    check_payload_size(message.value, DEFAULT_LIMITS)
    event = codec.decode(message.value)
    validate(event.kind, event.record, now_ms=now_ms, limits=DEFAULT_LIMITS)
    return routed_event(event.kind, event.record, message.partition, message.offset)


def route(
    codec: Codec,
    plans: dict[str, EntityPlan],
    messages: Sequence[RawMessage],
    now_ms: int,
    partitions: int,
) -> Routed:
    """``partitions``: the repartition topic's."""
    out = Routed()
    batches: dict[StateKey, EntityBatch] = {}
    entries: dict[int, list[list[Any]]] = {}
    pack = packer().pack
    targets = [(plan.entity, plan.keys, user_keyed(plan)) for plan in plans.values()]
    for message in messages:
        try:
            event = feature_event(codec, message, now_ms)
        except SchemaError:
            out.bad += 1
            continue
        if event is None:
            out.ignored += 1
            continue
        fields = event.fields
        for entity, keys, local in targets:
            ids = entity_id(keys, fields)
            if ids is None:
                continue
            key = StateKey(entity, ids)
            if local:
                batch = batches.get(key)
                if batch is None:
                    batch = batches[key] = EntityBatch(local_shard(message.partition), key)
                batch.events.append(event)
            else:
                # ids, a tuple, packs as a list would
                entry = [entity, ids, event.kind, event.ts_ms, fields, event.partition,
                         event.offset]  # fmt: skip
                entries.setdefault(repartition_of(ids[0], partitions), []).append(entry)
    out.local = list(batches.values())
    for partition, listed in sorted(entries.items()):
        for first in range(0, len(listed), RECORD_ENTRIES):
            value: bytes = pack(listed[first : first + RECORD_ENTRIES])
            out.outgoing.append((partition, str(partition).encode(), value))
        out.repartitioned += len(listed)
    return out


def decode_repartitioned(messages: Iterable[RawMessage]) -> list[EntityBatch]:
    """Entity batches from repartition records, in consumed order (fences by source offset)."""
    batches: dict[StateKey, EntityBatch] = {}
    for message in messages:
        shard = entity_shard(message.partition)
        entries = msgpack.unpackb(message.value, use_list=False)  # ids come as a tuple
        for entity, ids, kind, ts_ms, fields, partition, offset in entries:
            key = StateKey(entity, ids)
            batch = batches.get(key)
            if batch is None:
                batch = batches[key] = EntityBatch(shard, key)
            batch.events.append(FeatureEvent(kind, ts_ms, fields, partition, offset))
    return list(batches.values())


def freshness_pairs(visible: Iterable[tuple[str, list[int]]]) -> dict[str, list[int]]:
    """Event times made visible, per group."""
    out: dict[str, list[int]] = {}
    for group, times in visible:
        out.setdefault(group, []).extend(times)
    return out
