"""Evaluate a group's features from an entity's state at a time ``now_ms``.

Windows slide on time, not on events: a count read at 10:00 covers (09:00, 10:00] to within its
tile granularity whether or not the entity had events since (see ``features.tiles``). Besides
the values, ``valid_until_ms`` says when they next change as time passes (the first tile that
leaves or enters a window), None when only a new event can change them. The refresher rewrites
a serving value once that time has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from features.aggregate import SUM_SCALE
from features.plan import Aggregate, CompiledGroup, EntityPlan
from features.state import EntityState
from features.tiles import next_change_ms, window_tiles


@dataclass(frozen=True, slots=True)
class Evaluation:
    values: list[Any]  # the group's served features in declared order (last_n left out)
    event_ts_ms: int | None  # the newest event time the state reflects
    valid_until_ms: int | None


def _tiled(
    agg: Aggregate, state: EntityState, window_ms: int, now_ms: int
) -> tuple[Any, int | None]:
    g = agg.granularity_ms
    covered = window_tiles(now_ms, window_ms, g)
    if agg.type == "distinct":
        sets = state.distinct.get(agg.id, {})
        union: set[str] = set()
        for i, values in sets.items():  # the few tiles it has, not every tile of the window
            if i in covered:
                union.update(values)
        return len(union), next_change_ms(list(sets), now_ms, window_ms, g)
    tiles = state.tiles.get(agg.id, {})
    total = sum(v for i, v in tiles.items() if i in covered)
    value: Any = total if agg.type == "count" else total / SUM_SCALE
    return value, next_change_ms(list(tiles), now_ms, window_ms, g)


def evaluate_group(
    plan: EntityPlan, group: CompiledGroup, state: EntityState, now_ms: int
) -> Evaluation:
    values: list[Any] = [None] * len(group.features)
    changes: list[int] = []
    for position, feature in enumerate(group.features):
        spec = feature.spec
        if feature.aggregate is None:
            continue  # a ratio: after its operands
        agg = plan.aggregates[feature.aggregate]
        if agg.type in ("count", "sum", "distinct"):
            assert spec.window_ms is not None
            value, change = _tiled(agg, state, spec.window_ms, now_ms)
            values[position] = value
            if change is not None:
                changes.append(change)
        elif agg.type == "last_time":
            values[position] = state.last.get(agg.id, spec.default)
        else:
            known = state.attrs.get(agg.id)
            values[position] = spec.default if known is None else known[3]
    for position, feature in enumerate(group.features):
        if feature.aggregate is None:
            numerator, denominator = values[feature.numerator], values[feature.denominator]
            zero_div = feature.spec.default
            values[position] = (
                zero_div if not denominator else float(numerator or 0) / float(denominator)
            )
    return Evaluation(values, state.event_ts_ms, min(changes, default=None))
