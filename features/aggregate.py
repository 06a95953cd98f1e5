"""Apply events to an entity's aggregation state: fenced, event-timed, pruned.

Each event carries where it came from in the events topic (source partition, source offset).
An event at or below its partition's fence was applied before and is skipped, so redelivered and
replayed records count once. An event older than the newest event time seen from its partition
minus ``lateness_ms`` is too late: counted in ``late_dropped`` and applied nowhere; a later one
lands in the tile of its own timestamp. After a batch, tiles that no window can read again
(older than the longest window plus the lateness, behind the newest event time) are pruned.

Everything here depends only on the events and their order within each source partition, never
on a clock, so a replay builds the same state as the live run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from features.plan import Aggregate, EntityPlan
from features.state import DISTINCT_TILE_CAP, EntityState, Fence
from features.tiles import tile_index

SUM_SCALE = 10_000
"""Sums are kept as integers in 1/10,000 units (prices have 4 decimals): order-independent."""
_QUANTUM = Decimal(1)

EntityId = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeatureEvent:
    """A valid event, its fields (as decoded), and its place in the events topic."""

    kind: str
    ts_ms: int
    fields: Mapping[str, Any]
    partition: int
    offset: int


@dataclass(slots=True)
class ApplyResult:
    applied: int = 0
    duplicates: int = 0
    late: int = 0


def entity_id(keys: Sequence[str], fields: Mapping[str, Any]) -> EntityId | None:
    """The entity's id from an event's fields; None if the event lacks one of its keys."""
    ids: list[str] = []
    for key in keys:
        value = fields.get(key)
        if value is None or value == "":
            return None
        ids.append(value if type(value) is str else str(value))
    return tuple(ids)


def scaled_value(names: Sequence[str], fields: Mapping[str, Any]) -> int:
    """The product of the named numeric fields, in 1/10,000 units; 0 if one is missing."""
    product = Decimal(SUM_SCALE)
    for name in names:
        raw = fields.get(name)
        if raw is None:
            return 0
        product *= Decimal(str(raw))
    return int(product.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN))


def _apply_one(agg: Aggregate, state: EntityState, event: FeatureEvent) -> None:
    if agg.type == "count" or agg.type == "sum":
        tiles = state.tiles.get(agg.id)
        if tiles is None:
            tiles = state.tiles[agg.id] = {}
        i = event.ts_ms // agg.granularity_ms
        amount = 1 if agg.type == "count" else scaled_value(agg.value, event.fields)
        tiles[i] = tiles.get(i, 0) + amount
    elif agg.type == "distinct":
        value = event.fields.get(agg.field or "")
        if value is None:
            return
        sets = state.distinct.setdefault(agg.id, {})
        seen = sets.setdefault(tile_index(event.ts_ms, agg.granularity_ms), set())
        if len(seen) < DISTINCT_TILE_CAP:
            seen.add(str(value))
    elif agg.type == "last_time":
        known_ts = state.last.get(agg.id)
        if known_ts is None or event.ts_ms > known_ts:
            state.last[agg.id] = event.ts_ms
    else:
        value = event.fields.get(agg.field or "")
        if value is None:
            return
        newest = (event.ts_ms, event.partition, event.offset, value)
        known = state.attrs.get(agg.id)
        if known is None or newest[:3] > known[:3]:
            state.attrs[agg.id] = newest


def apply_events(
    plan: EntityPlan, state: EntityState, events: Iterable[FeatureEvent], lateness_ms: int
) -> ApplyResult:
    """Apply events (in their order within each source partition) to one entity's state."""
    result = ApplyResult()
    fences = state.fences
    for event in events:
        fence = fences.get(event.partition)
        if fence is not None and event.offset <= fence.offset:
            result.duplicates += 1
            continue
        if fence is None:
            fences[event.partition] = Fence(event.offset, event.ts_ms)
        else:
            fence.offset = event.offset
            if event.ts_ms < fence.max_ts_ms - lateness_ms:
                result.late += 1
                state.late_dropped += 1
                continue
            if event.ts_ms > fence.max_ts_ms:
                fence.max_ts_ms = event.ts_ms
        result.applied += 1
        for agg in plan.taking(event.kind):
            _apply_one(agg, state, event)
    if result.applied:
        prune(plan, state, lateness_ms)
    return result


def prune(plan: EntityPlan, state: EntityState, lateness_ms: int) -> None:
    """Drop tiles past every window: older than the longest window reading them plus the
    lateness, behind the newest event time the state has seen."""
    newest = state.event_ts_ms
    if newest is None:
        return
    counted, distinct = state.tiles, state.distinct
    for agg_id, is_distinct, keep_ms, granularity in plan.tiled_keeps():
        tiles: dict[int, Any] | None = (distinct if is_distinct else counted).get(agg_id)
        if not tiles:
            continue
        oldest = tile_index(newest - keep_ms - lateness_ms, granularity)
        if min(tiles) < oldest:
            for i in [i for i in tiles if i < oldest]:
                del tiles[i]
