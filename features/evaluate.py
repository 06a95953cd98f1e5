"""Evaluate a group's features from an entity's state at a time ``now_ms``.

Windows slide on time, not on events: a count read at 10:00 covers (09:00, 10:00] to within its
tile granularity whether or not the entity had events since (see ``features.tiles``). Besides
the values, ``valid_until_ms`` says when they next change as time passes (the first tile that
leaves or enters a window), None when only a new event can change them. The refresher rewrites
a serving value once that time has passed.

Every window of one aggregate (``clicks_5m`` to ``clicks_30d``) is computed in one pass over its
tiles, newest first: the shortest window's sum (or union) grows into the next one's. A
``WindowCache`` keeps those results per aggregate, so an entity's groups that read the same
aggregate share the pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from features.aggregate import SUM_SCALE
from features.plan import Aggregate, CompiledGroup, EntityPlan
from features.state import EntityState
from features.tiles import tiles_in_window

WindowValues = dict[int, tuple[Any, int | None]]
"""window_ms -> (value, when it next changes as time passes; None: only on a new event)."""
WindowCache = dict[int, WindowValues]
"""aggregate id -> its windows' values, at one ``now_ms``."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    values: list[Any]  # the group's served features in declared order (last_n left out)
    event_ts_ms: int | None  # the newest event time the state reflects
    valid_until_ms: int | None


def window_values(
    agg: Aggregate, state: EntityState, windows: tuple[int, ...], now_ms: int
) -> WindowValues:
    """Every window (ascending) of a tiled aggregate at ``now_ms``, in one pass over its tiles.

    A window's change time is the earlier of: its oldest covered tile leaving it, and the first
    tile after ``now_ms`` entering it (the same for every window)."""
    g = agg.granularity_ms
    newest = now_ms // g
    distinct = agg.type == "distinct"
    held: dict[int, Any] = (
        state.distinct.get(agg.id, {}) if distinct else state.tiles.get(agg.id, {})
    )
    if not held:  # nothing aggregated yet: every window is empty and stays so
        empty: Any = 0 if agg.type != "sum" else 0 / SUM_SCALE
        return dict.fromkeys(windows, (empty, None))
    past = sorted(held, reverse=True)
    entering = None
    if past[0] > newest:  # tiles after now (a producer's clock ahead): they enter later
        ahead = 1
        while ahead < len(past) and past[ahead] > newest:
            ahead += 1
        entering = past[ahead - 1] * g
        del past[:ahead]
    out: WindowValues = {}
    union: set[str] = set()
    total = 0
    taken = 0
    for window in windows:  # ascending: each window's tiles extend the previous one's
        n = tiles_in_window(window, g)
        start = newest - n + 1
        while taken < len(past) and past[taken] >= start:
            if distinct:
                union.update(held[past[taken]])
            else:
                total += held[past[taken]]
            taken += 1
        leaving = (past[taken - 1] + n) * g if taken else None
        change = (
            leaving if entering is None else entering if leaving is None else min(leaving, entering)
        )
        value: Any = len(union) if distinct else total if agg.type == "count" else total / SUM_SCALE
        out[window] = (value, change)
    return out


def evaluate_group(
    plan: EntityPlan,
    group: CompiledGroup,
    state: EntityState,
    now_ms: int,
    cache: WindowCache | None = None,
) -> Evaluation:
    """``cache``: window values already computed at this ``now_ms`` for this state (filled in)."""
    windows = {} if cache is None else cache
    aggregates = plan.aggregates
    values: list[Any] = [None] * len(group.features)
    changes: list[int] = []
    for position, feature in enumerate(group.features):
        if feature.aggregate is None:
            continue  # a ratio: after its operands
        agg = aggregates[feature.aggregate]
        kind = agg.type
        if kind == "last_time":
            values[position] = state.last.get(agg.id, feature.spec.default)
        elif kind == "attribute":
            known = state.attrs.get(agg.id)
            values[position] = feature.spec.default if known is None else known[3]
        else:
            window = feature.spec.window_ms
            assert window is not None
            computed = windows.get(agg.id)
            if computed is None or window not in computed:
                read = plan.windows.get(agg.id) or (window,)
                if window not in read:  # a plan built without its windows
                    read = (window,)
                computed = windows[agg.id] = {
                    **(computed or {}),
                    **window_values(agg, state, read, now_ms),
                }
            value, change = computed[window]
            values[position] = value
            if change is not None:
                changes.append(change)
    for position, feature in enumerate(group.features):
        if feature.aggregate is None:
            numerator, denominator = values[feature.numerator], values[feature.denominator]
            zero_div = feature.spec.default
            values[position] = (
                zero_div if not denominator else float(numerator or 0) / float(denominator)
            )
    return Evaluation(values, state.event_ts_ms, min(changes, default=None))
