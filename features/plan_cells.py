"""An entity plan's evaluation as numbered cells (``compile_plans`` calls ``flatten``).

Every window of every tiled aggregate gets a cell (``TiledRead``, in ``EntityPlan.tiled``
order), then each last time or attribute feature (``EntityPlan.singles``), then one ``None`` (a
ratio's place until it is computed); each group reads its served values from them by index
(``GroupReads``). ``features.evaluate.evaluate_entity`` runs this program.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from features.tiles import tiles_in_window

if TYPE_CHECKING:
    from features.plan import AggregateType, EntityPlan


@dataclass(frozen=True, slots=True)
class TiledRead:
    """A tiled aggregate's windows (ascending) and the tiles each sums; their cells are
    numbered in this order, one per window, across the plan's ``tiled``."""

    aggregate: int
    type: AggregateType
    granularity_ms: int
    windows: tuple[int, ...]
    tiles: tuple[int, ...]
    empty: tuple[Any, ...] = field(init=False, compare=False)
    """The cells of the windows while nothing is aggregated (0, or 0.0 for a sum)."""
    never: tuple[None, ...] = field(init=False, compare=False)
    """Their change times then: none (only a new event changes them)."""

    def __post_init__(self) -> None:
        empty = 0.0 if self.type == "sum" else 0  # a sum is a float (evaluate._EMPTY_SUM)
        object.__setattr__(self, "empty", (empty,) * len(self.windows))
        object.__setattr__(self, "never", (None,) * len(self.windows))


@dataclass(frozen=True, slots=True)
class GroupReads:
    """Where a group's served values come from, as cell numbers.

    An entity's cells: every window of ``EntityPlan.tiled`` (in order), then one cell per
    ``EntityPlan.singles`` entry (a last time or an attribute, with its feature's default),
    then one ``None`` (a ratio's place until it is computed). ``picks``: the cell of each
    served feature, in declared order. ``ratios``: ``(position, numerator position,
    denominator position, default for 0/0)``, computed in order once the others are in place.
    ``windowed``: the window cells whose change times bound the group's ``valid_until_ms``."""

    picks: tuple[int, ...]
    ratios: tuple[tuple[int, int, int, Any], ...]
    windowed: tuple[int, ...]
    pick: Callable[[Sequence[Any]], tuple[Any, ...]] = field(init=False, compare=False)
    """``picks`` taken from a cell list in one call (``operator.itemgetter``)."""
    pick_windowed: Callable[[Sequence[Any]], tuple[Any, ...]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pick", _picker(self.picks))
        object.__setattr__(self, "pick_windowed", _picker(self.windowed))


def _picker(indices: tuple[int, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The items at ``indices`` of a sequence, always as a tuple."""
    if len(indices) == 1:
        (only,) = indices
        return lambda cells: (cells[only],)
    if not indices:
        return lambda cells: ()
    getter: Callable[[Sequence[Any]], tuple[Any, ...]] = itemgetter(*indices)
    return getter


def flatten(plan: EntityPlan) -> None:
    """Number the cells of the plan's windows and single values, and each group's reads."""
    tiled: list[TiledRead] = []
    cells: dict[tuple[int, int], int] = {}
    for agg_id, windows in plan.windows.items():
        agg = plan.aggregates[agg_id]
        g = agg.granularity_ms
        cells.update({(agg_id, w): len(cells) + i for i, w in enumerate(windows)})
        counts = tuple(tiles_in_window(w, g) for w in windows)
        tiled.append(TiledRead(agg_id, agg.type, g, windows, counts))
    single_types = ("last_time", "attribute")
    singles = [
        (plan.aggregates[feature.aggregate].type, feature.aggregate, feature.spec.default)
        for group in plan.groups
        for feature in group.features
        if feature.aggregate is not None and plan.aggregates[feature.aggregate].type in single_types
    ]
    pending = len(cells) + len(singles)  # the None cell: a ratio before it is computed
    single = len(cells)
    reads: list[GroupReads] = []
    for group in plan.groups:
        picks: list[int] = []
        ratios: list[tuple[int, int, int, Any]] = []
        windowed: list[int] = []
        for position, feature in enumerate(group.features):
            spec = feature.spec
            if feature.aggregate is None:
                ratios.append((position, feature.numerator, feature.denominator, spec.default))
                picks.append(pending)
            elif plan.aggregates[feature.aggregate].type in single_types:  # its own cell
                picks.append(single)
                single += 1
            else:
                assert spec.window_ms is not None
                cell = cells[(feature.aggregate, spec.window_ms)]
                picks.append(cell)
                windowed.append(cell)
        reads.append(GroupReads(tuple(picks), tuple(ratios), tuple(sorted(set(windowed)))))
    plan.tiled = tuple(tiled)
    plan.singles = tuple((kind == "attribute", agg, default) for kind, agg, default in singles)
    plan.reads = tuple(reads)
