"""Evaluate an entity's features from its state at a time ``now_ms``.

Windows slide on time, not on events: a count read at 10:00 covers (09:00, 10:00] to within its
tile granularity whether or not the entity had events since (see ``features.tiles``). Besides
the values, ``valid_until_ms`` says when they next change as time passes (the first tile that
leaves or enters a window), None when only a new event can change them. The refresher rewrites
a serving value once that time has passed.

``evaluate_entity`` computes every group of an entity at once, from the plan's flat program
(``EntityPlan.tiled`` and ``EntityPlan.reads``): first every window of every tiled aggregate,
each aggregate in one pass over its tiles, newest first (the shortest window's sum or union
grows into the next one's), into numbered cells; then each group picks its values from the
cells, last times and attributes, and its ratios from its own values.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from features.aggregate import SUM_SCALE
from features.plan import Aggregate, CompiledGroup, EntityPlan
from features.state import EntityState
from features.tiles import tiles_in_window

WindowValues = dict[int, tuple[Any, int | None]]
"""window_ms -> (value, when it next changes as time passes; None: only on a new event)."""
_EMPTY_SUM = 0 / SUM_SCALE


class Evaluation(NamedTuple):
    values: list[Any]  # the group's served features in declared order (last_n left out)
    event_ts_ms: int | None  # the newest event time the state reflects
    valid_until_ms: int | None


def _windows_into(
    kind: str,
    held: dict[int, Any],
    g: int,
    tiles: tuple[int, ...],
    now_ms: int,
    values: list[Any],
    changes: list[int | None],
) -> None:
    """Append each window's value and change time (``tiles``: the tiles each window sums,
    ascending) of a tiled aggregate holding ``held`` (not empty), in one pass over its tiles.

    A window's change time is the earlier of: its oldest covered tile leaving it, and the first
    tile after ``now_ms`` entering it (the same for every window)."""
    newest = now_ms // g
    distinct = kind == "distinct"
    if len(held) == 1:  # one tile (a young entity's aggregate): no sort, no union
        _one_tile_into(kind, held, g, tiles, newest, values, changes)
        return
    past = sorted(held, reverse=True)
    entering = None
    if past[0] > newest:  # tiles after now (a producer's clock ahead): they enter later
        ahead = 1
        while ahead < len(past) and past[ahead] > newest:
            ahead += 1
        entering = past[ahead - 1] * g
        del past[:ahead]
    union: set[str] = set()
    total = 0
    taken = 0
    held_count = len(past)
    for n in tiles:  # ascending: each window's tiles extend the previous one's
        start = newest - n + 1
        while taken < held_count and past[taken] >= start:
            if distinct:
                union.update(held[past[taken]])
            else:
                total += held[past[taken]]
            taken += 1
        leaving = (past[taken - 1] + n) * g if taken else None
        change = (
            leaving if entering is None else entering if leaving is None else min(leaving, entering)
        )
        changes.append(change)
        values.append(len(union) if distinct else total if kind == "count" else total / SUM_SCALE)


def _one_tile_into(
    kind: str,
    held: dict[int, Any],
    g: int,
    tiles: tuple[int, ...],
    newest: int,
    values: list[Any],
    changes: list[int | None],
) -> None:
    """``_windows_into`` of an aggregate holding one tile (the same values and change times)."""
    ((i, amount),) = held.items()
    empty = _EMPTY_SUM if kind == "sum" else 0
    if i > newest:  # after now: every window is empty until it enters
        values.extend([empty] * len(tiles))
        changes.extend([i * g] * len(tiles))
        return
    value = len(amount) if kind == "distinct" else amount if kind == "count" else amount / SUM_SCALE
    for n in tiles:  # ascending: once the tile is in a window, it is in every longer one
        if i > newest - n:
            values.append(value)
            changes.append((i + n) * g)
        else:
            values.append(empty)
            changes.append(None)


def window_values(
    agg: Aggregate, state: EntityState, windows: tuple[int, ...], now_ms: int
) -> WindowValues:
    """Every window (ascending) of a tiled aggregate at ``now_ms``, in one pass over its tiles."""
    g = agg.granularity_ms
    held = state.distinct.get(agg.id) if agg.type == "distinct" else state.tiles.get(agg.id)
    if not held:  # nothing aggregated yet: every window is empty and stays so
        return dict.fromkeys(windows, (0 if agg.type != "sum" else _EMPTY_SUM, None))
    values: list[Any] = []
    changes: list[int | None] = []
    tiles = tuple(tiles_in_window(w, g) for w in windows)
    _windows_into(agg.type, held, g, tiles, now_ms, values, changes)
    return {w: (v, c) for w, v, c in zip(windows, values, changes, strict=True)}


def evaluate_entity(plan: EntityPlan, state: EntityState, now_ms: int) -> list[Evaluation]:
    """Every group of the plan (in ``plan.groups`` order) at ``now_ms``."""
    cells: list[Any] = []
    changes: list[int | None] = []
    counted, distinct = state.tiles, state.distinct
    for read in plan.tiled:
        held = (distinct if read.type == "distinct" else counted).get(read.aggregate)
        if held:
            _windows_into(read.type, held, read.granularity_ms, read.tiles, now_ms, cells, changes)
        else:  # nothing aggregated yet: every window is empty and stays so
            cells += read.empty
            changes += read.never
    last, attrs = state.last, state.attrs
    for attribute, agg, default in plan.singles:
        if attribute:
            known = attrs.get(agg)
            cells.append(default if known is None else known[3])
        else:
            cells.append(last.get(agg, default))
    cells.append(None)  # a ratio's place until it is computed
    event_ts_ms = state.event_ts_ms
    out: list[Evaluation] = []
    for group in plan.reads:
        served = list(group.pick(cells))
        for position, numerator_at, denominator_at, zero_div in group.ratios:
            numerator, denominator = served[numerator_at], served[denominator_at]
            served[position] = (
                zero_div if not denominator else float(numerator or 0) / float(denominator)
            )
        until = [c for c in group.pick_windowed(changes) if c is not None]
        out.append(Evaluation(served, event_ts_ms, min(until) if until else None))
    return out


def evaluate_group(
    plan: EntityPlan, group: CompiledGroup, state: EntityState, now_ms: int
) -> Evaluation:
    """One group's evaluation (``evaluate_entity`` computes all of an entity's at once)."""
    return evaluate_entity(plan, state, now_ms)[plan.groups.index(group)]
