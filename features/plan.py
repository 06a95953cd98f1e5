"""What the aggregation keeps per entity, compiled from the feature definitions.

Features of one entity that need the same data share one aggregate: ``clicks_1h`` and
``clicks_24h`` of a user read the same click counts (at the granularity of their windows), and a
ratio reads two other features. ``compile_plans`` turns the groups of a catalogue into one
``EntityPlan`` per entity: its aggregates (what ``aggregate.apply_events`` maintains) and its
groups (what ``evaluate.evaluate_entity`` computes from them). ``compile_plans`` also flattens
each plan for the per-event work: the steps each event kind runs (``EntityPlan.steps``), and the
entity's evaluation as numbered cells (one per tiled aggregate and window) that its groups read by
index (``features.plan_cells``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from features.catalogue import Catalogue
from features.definitions import FeatureDefinition, RatioFeature, SumFeature, default_of
from features.plan_cells import GroupReads, TiledRead, flatten
from features.tiles import granularity_ms

AggregateType = Literal["count", "sum", "distinct", "last_time", "attribute"]
FeatureType = Literal["count", "sum", "ratio", "last_time", "distinct", "last_n", "attribute"]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature as the definition file declares it (windows in milliseconds)."""

    name: str
    type: FeatureType
    default: Any = None
    kinds: frozenset[str] | None = None  # None: every kind
    window_ms: int | None = None
    value: tuple[str, ...] = ()  # sum: the fields whose product is summed
    field: str | None = None  # distinct, attribute, last_n
    numerator: str | None = None
    denominator: str | None = None


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    entity: str
    features: tuple[FeatureSpec, ...]


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One piece of per-entity state: tiles of counts, sums or distinct values, a last time,
    or a latest attribute. ``keep_ms``: the longest window reading it. ``id``: a short hash of
    what it aggregates (not of where it is declared), so a definition that adds or reorders
    features keeps reading the state it already has."""

    id: int
    type: AggregateType
    kinds: frozenset[str] | None
    granularity_ms: int = 0
    keep_ms: int = 0
    value: tuple[str, ...] = ()
    field: str | None = None

    def takes(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


@dataclass(frozen=True, slots=True)
class CompiledFeature:
    spec: FeatureSpec
    aggregate: int | None  # the aggregate it reads (None for a ratio)
    numerator: int = -1  # ratio: positions of its operands among the group's served features
    denominator: int = -1


@dataclass(frozen=True, slots=True)
class CompiledGroup:
    name: str
    entity: str
    features: tuple[CompiledFeature, ...]  # served features, last_n left out, in declared order


@dataclass(slots=True)
class EntityPlan:
    entity: str
    keys: tuple[str, ...]
    aggregates: dict[int, Aggregate] = field(default_factory=dict)
    groups: list[CompiledGroup] = field(default_factory=list)
    windows: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """Per tiled aggregate, every window its features read (ascending): evaluated in one pass."""
    tiled: tuple[TiledRead, ...] = ()
    """Every tiled aggregate's windows, as numbered cells (``compile_plans`` fills it)."""
    singles: tuple[tuple[bool, int, Any], ...] = ()
    """Per last time or attribute feature: (an attribute?, its aggregate, its default)."""
    reads: tuple[GroupReads, ...] = ()
    """Per group (in ``groups`` order), where each served feature's value comes from."""
    _steps: dict[str, tuple[ApplyStep, ...]] = field(default_factory=dict)
    _tiled_keeps: tuple[tuple[int, bool, int, int], ...] | None = None
    _shortest_keep: int | None = None

    def tiled_keeps(self) -> tuple[tuple[int, bool, int, int], ...]:
        """Per tiled aggregate (count, sum, distinct): (id, distinct?, keep_ms, granularity_ms),
        what pruning needs (cached)."""
        if self._tiled_keeps is None:
            self._tiled_keeps = tuple(
                (agg.id, agg.type == "distinct", agg.keep_ms, agg.granularity_ms)
                for agg in self.aggregates.values()
                if agg.type in ("count", "sum", "distinct")
            )
        return self._tiled_keeps

    @property
    def shortest_keep_ms(self) -> int:
        """The shortest ``keep_ms`` of the tiled aggregates (0 without any; cached)."""
        if self._shortest_keep is None:
            self._shortest_keep = min((keep for _, _, keep, _ in self.tiled_keeps()), default=0)
        return self._shortest_keep

    def steps(self, kind: str) -> tuple[ApplyStep, ...]:
        """What an event of ``kind`` does to the state: per aggregate it feeds (in plan order),
        ``(step code, aggregate id, granularity_ms, operand)`` (cached per kind), the operand
        being a sum's value fields or a distinct's or attribute's field."""
        found = self._steps.get(kind)
        if found is None:
            found = self._steps[kind] = tuple(
                (STEP_CODES[agg.type], agg.id, agg.granularity_ms,
                 agg.value if agg.type == "sum" else (agg.field or ""))
                for agg in self.aggregates.values()
                if agg.takes(kind)
            )  # fmt: skip
        return found


STEP_COUNT, STEP_SUM, STEP_DISTINCT, STEP_LAST_TIME, STEP_ATTRIBUTE = range(5)
STEP_CODES: dict[str, int] = {
    "count": STEP_COUNT,
    "sum": STEP_SUM,
    "distinct": STEP_DISTINCT,
    "last_time": STEP_LAST_TIME,
    "attribute": STEP_ATTRIBUTE,
}
ApplyStep = tuple[int, int, int, Any]
"""``EntityPlan.steps``: (step code, aggregate id, granularity_ms, value fields or field)."""


def _kinds_key(kinds: frozenset[str] | None) -> str:
    return "*" if kinds is None else "+".join(sorted(kinds))


def aggregate_id(description: str) -> int:
    """A stable 32-bit id of an aggregate's description (compact in the encoded state)."""
    return int.from_bytes(hashlib.blake2b(description.encode(), digest_size=4).digest(), "big")


def _aggregate_for(spec: FeatureSpec) -> Aggregate:
    kinds = _kinds_key(spec.kinds)
    if spec.type == "count" or spec.type == "sum" or spec.type == "distinct":
        assert spec.window_ms is not None, f"{spec.name}: a {spec.type} needs a window"
        g = granularity_ms(spec.window_ms)
        detail = "*".join(spec.value) if spec.type == "sum" else (spec.field or "")
        return Aggregate(
            aggregate_id(f"{spec.type}|{kinds}|{detail}|{g}"), spec.type, spec.kinds, g,
            spec.window_ms, spec.value, spec.field,
        )  # fmt: skip
    if spec.type == "last_time":
        return Aggregate(aggregate_id(f"last_time|{kinds}"), "last_time", spec.kinds)
    assert spec.type == "attribute", f"{spec.name}: {spec.type} is not aggregated"
    return Aggregate(
        aggregate_id(f"attribute|{kinds}|{spec.field}"), "attribute", spec.kinds, field=spec.field
    )


def _compile_group(group: GroupSpec, plan: EntityPlan) -> CompiledGroup:
    served = [f for f in group.features if f.type != "last_n"]
    position = {f.name: i for i, f in enumerate(served)}
    compiled: list[CompiledFeature] = []
    for spec in served:
        if spec.type == "ratio":
            assert spec.numerator is not None, f"{spec.name}: a ratio needs a numerator"
            assert spec.denominator is not None, f"{spec.name}: a ratio needs a denominator"
            compiled.append(
                CompiledFeature(spec, None, position[spec.numerator], position[spec.denominator])
            )
            continue
        agg = _aggregate_for(spec)
        known = plan.aggregates.get(agg.id)
        if known is None or known.keep_ms < agg.keep_ms:
            plan.aggregates[agg.id] = agg
        if spec.window_ms is not None and agg.granularity_ms:
            plan.windows[agg.id] = tuple(sorted({*plan.windows.get(agg.id, ()), spec.window_ms}))
        compiled.append(CompiledFeature(spec, agg.id))
    return CompiledGroup(group.name, group.entity, tuple(compiled))


def compile_plans(
    entities: dict[str, Sequence[str]], groups: Iterable[GroupSpec]
) -> dict[str, EntityPlan]:
    """One plan per entity that has at least one group with a served feature."""
    plans: dict[str, EntityPlan] = {}
    for group in groups:
        plan = plans.setdefault(
            group.entity, EntityPlan(group.entity, tuple(entities[group.entity]))
        )
        compiled = _compile_group(group, plan)
        if compiled.features:
            plan.groups.append(compiled)
    for plan in plans.values():
        flatten(plan)
    return {name: plan for name, plan in plans.items() if plan.groups}


def spec_of(feature: FeatureDefinition) -> FeatureSpec:
    """The aggregation's view of one feature of the definition file."""
    default = default_of(feature)
    if isinstance(feature, RatioFeature):
        return FeatureSpec(
            feature.name, "ratio", default, numerator=feature.numerator,
            denominator=feature.denominator,
        )  # fmt: skip
    return FeatureSpec(
        feature.name,
        feature.type,
        default,
        kinds=frozenset(feature.event_kinds),
        window_ms=feature.window_ms,
        value=feature.value_fields if isinstance(feature, SumFeature) else (),
        field=getattr(feature, "field", None),
    )


def plans_from_catalogue(catalogue: Catalogue) -> dict[str, EntityPlan]:
    """One plan per entity of the catalogue that has served features."""
    groups = [
        GroupSpec(g.name, g.entity, tuple(spec_of(f) for f in g.features))
        for g in catalogue.groups.values()
    ]
    return compile_plans({n: e.keys for n, e in catalogue.entities.items()}, groups)
