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

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

from features.plan import STEP_COUNT, STEP_DISTINCT, STEP_LAST_TIME, STEP_SUM, EntityPlan
from features.state import DISTINCT_TILE_CAP, EntityState, Fence
from features.tiles import tile_index

SUM_SCALE = 10_000
"""Sums are kept as integers in 1/10,000 units (prices have 4 decimals): order-independent."""
_QUANTUM = Decimal(1)

EntityId = tuple[str, ...]


class FeatureEvent(NamedTuple):
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


def apply_events(
    plan: EntityPlan, state: EntityState, events: Iterable[FeatureEvent], lateness_ms: int
) -> ApplyResult:
    """Apply events (in their order within each source partition) to one entity's state.

    Each event runs its kind's steps (``EntityPlan.steps``: the aggregates it feeds, in plan
    order) inline: a count or sum adds to the tile of its time, a distinct adds its field's value
    to that tile's sorted values (at most ``DISTINCT_TILE_CAP``), a last time keeps the newest
    time, an attribute the newest (time, source partition, source offset, value)."""
    result = ApplyResult()
    fences = state.fences
    counted, distinct, last, attrs = state.tiles, state.distinct, state.last, state.attrs
    steps_of = plan.steps
    lowest = NEVER  # the oldest event time applied
    for event in events:
        partition, offset, ts_ms = event.partition, event.offset, event.ts_ms
        fence = fences.get(partition)
        if fence is not None and offset <= fence.offset:
            result.duplicates += 1
            continue
        if fence is None:
            fences[partition] = Fence(offset, ts_ms)
        else:
            fence.offset = offset
            if ts_ms < fence.max_ts_ms - lateness_ms:
                result.late += 1
                state.late_dropped += 1
                continue
            if ts_ms > fence.max_ts_ms:
                fence.max_ts_ms = ts_ms
        result.applied += 1
        if ts_ms < lowest:
            lowest = ts_ms
        fields = event.fields
        for code, agg_id, granularity, operand in steps_of(event.kind):
            if code <= STEP_SUM:  # a count or a sum: the tile of the event's time
                tiles = counted.get(agg_id)
                if tiles is None:
                    tiles = counted[agg_id] = {}
                i = ts_ms // granularity
                amount = 1 if code == STEP_COUNT else scaled_value(operand, fields)
                tiles[i] = tiles.get(i, 0) + amount
            elif code == STEP_DISTINCT:
                value = fields.get(operand)
                if value is None:
                    continue
                sets = distinct.get(agg_id)
                if sets is None:
                    sets = distinct[agg_id] = {}
                i = ts_ms // granularity
                seen = sets.get(i)
                if seen is None:
                    seen = sets[i] = []
                if len(seen) < DISTINCT_TILE_CAP:  # kept sorted, without repeats
                    text = str(value)
                    at = bisect_left(seen, text)
                    if at == len(seen) or seen[at] != text:
                        seen.insert(at, text)
            elif code == STEP_LAST_TIME:
                known_ts = last.get(agg_id)
                if known_ts is None or ts_ms > known_ts:
                    last[agg_id] = ts_ms
            else:
                value = fields.get(operand)
                if value is None:
                    continue
                known = attrs.get(agg_id)
                if known is None or (ts_ms, partition, offset) > known[:3]:
                    attrs[agg_id] = (ts_ms, partition, offset, value)
    if result.applied:
        prune(plan, state, lateness_ms, lowest)
    return result


def prune(plan: EntityPlan, state: EntityState, lateness_ms: int, lowest_ts: int = 0) -> None:
    """Drop tiles past every window: older than the longest window reading them plus the
    lateness, behind the newest event time the state has seen.

    Skipped when it provably drops nothing: a tile ``m`` of granularity ``g`` is dropped once
    the newest time reaches ``(m + 1) * g + keep + lateness``; the state remembers the earliest
    such time over its oldest tiles (``prune_due_ms``), lowered to ``lowest_ts`` (the oldest
    event time applied since) plus the shortest keep and the lateness, which no tile that event
    added can drop before. ``lowest_ts`` 0: prune whatever the state remembers."""
    newest = state.event_ts_ms
    if newest is None:
        return
    due = min(state.prune_due_ms, lowest_ts + plan.shortest_keep_ms + lateness_ms)
    if newest < due:
        state.prune_due_ms = due
        return
    due = NEVER
    counted, distinct = state.tiles, state.distinct
    for agg_id, is_distinct, keep_ms, granularity in plan.tiled_keeps():
        tiles: dict[int, Any] | None = (distinct if is_distinct else counted).get(agg_id)
        if not tiles:
            continue
        oldest = tile_index(newest - keep_ms - lateness_ms, granularity)
        low = min(tiles)
        if low < oldest:
            for i in [i for i in tiles if i < oldest]:
                del tiles[i]
            if not tiles:
                continue
            low = min(tiles)
        at = (low + 1) * granularity + keep_ms + lateness_ms
        if at < due:
            due = at
    state.prune_due_ms = due


NEVER = 1 << 62
"""Later than any event time (milliseconds)."""
