"""FeatureReader: feature values of many entities in one call.

Served features come from one read of the feature store (one MGET, or one per hash slot) for
every (id, group) pair; ``last_n`` features come from the interaction store's read path
(``features.sequences``), so they never disagree with ``GET /v1/users/{id}/interactions``. Every
value has a status:

- ``missing``: no serving value (never computed, or computed under other definitions, or
  unreadable), or an empty ``last_n``: the feature's declared default is returned;
- ``stale``: ``now_ms > valid_until_ms + max_age`` of its group (the refresher is late);
- ``present``: otherwise.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from core.clock import Clock, wall_clock_ms
from core.settings import Settings
from features.catalogue import Catalogue, FeatureRef, load_catalogue
from features.columns import ColumnPlan, Columns, SequenceColumn
from features.errors import FeatureError, InvalidEntityId, UnknownFeatures
from features.sequences import FeatureValue, Status, read_sequences
from features.serving import served_with_status
from store.errors import FeatureStoreUnavailable
from store.feature_generations import GenerationPointer
from store.feature_store import FeatureStore, serving_keys
from store.read_path import InteractionReader

EntityId = str | tuple[str, ...]
"""A one-key entity's id, or a composite id's keys in the entity's key order."""
ColumnsRead = tuple[str, Sequence[EntityId], Sequence[str]]
"""(entity, ids, features) of one ``columns`` read."""
__all__ = [
    "ColumnsRead",
    "EntityId",
    "FeatureReader",
    "FeatureValue",
    "Status",
    "build_feature_reader",
]
T = TypeVar("T")
_STR = frozenset((str,))
_TUPLE = frozenset((tuple,))
MAX_COLUMN_PLANS = 1024


class FeatureReader:
    """Built by ``build_feature_reader`` (the API and the tests alike). Without an interaction
    reader (``interactions=None``: a process that reads aggregates only, like the demo's live
    line) a read of a ``last_n`` feature is a FeatureError."""

    def __init__(
        self,
        catalogue: Catalogue,
        store: FeatureStore,
        interactions: InteractionReader | None,
        *,
        key_prefix: str,
        timeout_s: float | None = None,
        clock: Clock = wall_clock_ms,
        generations: GenerationPointer | None = None,
    ) -> None:
        """``generations``: where the current generation's prefix is read (None: always
        ``key_prefix``)."""
        self.catalogue = catalogue
        self.generations = generations
        self.store = store
        self.interactions = interactions
        self.key_prefix = key_prefix
        self.timeout_s = timeout_s
        self.clock = clock
        self._checks = {
            name: (catalogue.fingerprints[name], len(catalogue.served(name)), g.max_age_ms, name)
            for name, g in catalogue.groups.items()
        }
        """Per group: what a serving value must match (fingerprint, width), and its max age."""
        self._column_plans: dict[tuple[str, tuple[str, ...]], ColumnPlan] = {}
        """Per (entity, features) read by ``columns``: the plan (models ask the same lists)."""

    def resolve(self, entity: str, features: Sequence[str]) -> list[FeatureRef]:
        """UnknownFeatures naming the entity or every feature that is not one of its own."""
        if entity not in self.catalogue.entities:
            known = ", ".join(self.catalogue.entities)
            raise UnknownFeatures(f"unknown entity {entity!r}; known: {known}", [entity])
        found = [self.catalogue.features.get(name) for name in features]
        wrong = [
            name
            for name, ref in zip(features, found, strict=True)
            if ref is None or ref.group.entity != entity
        ]
        if wrong:
            listed = ", ".join(repr(name) for name in wrong)
            raise UnknownFeatures(
                f"not features of entity {entity!r}: {listed} (GET /v1/features lists them)",
                wrong,
            )
        return [ref for ref in found if ref is not None]

    def key_parts(self, entity: str, entity_id: EntityId) -> tuple[str, ...]:
        """An id as its keys; InvalidEntityId for the wrong number of keys."""
        keys = self.catalogue.entities[entity].keys
        parts = (entity_id,) if isinstance(entity_id, str) else tuple(entity_id)
        if len(parts) != len(keys) or not all(isinstance(p, str) for p in parts):
            raise InvalidEntityId(
                f"{entity} ids have {len(keys)} key(s) ({', '.join(keys)}), got {entity_id!r}"
            )
        return parts

    def _parts(self, entity: str, ids: Sequence[EntityId]) -> list[str | tuple[str, ...]]:
        """The ids as ``serving_keys`` takes them: a one-key entity's as its key (a ``str``),
        others' as tuples of their keys; InvalidEntityId for an id of the wrong shape. The
        checks of well-formed ids (what a matrix builds) run in C, with no call per id."""
        width = len(self.catalogue.entities[entity].keys)
        if width == 1:
            if {*map(type, ids)} <= _STR:
                return list(ids)
            return [self.key_parts(entity, entity_id)[0] for entity_id in ids]
        if (
            {*map(type, ids)} <= _TUPLE
            and {*map(len, ids)} <= {width}
            and {*map(type, itertools.chain.from_iterable(ids))} <= _STR
        ):
            return list(ids)
        return [self.key_parts(entity, entity_id) for entity_id in ids]

    def _column_plan(self, entity: str, features: Sequence[str]) -> ColumnPlan:
        wanted = (entity, tuple(features))
        plan = self._column_plans.get(wanted)
        if plan is None:
            if len(self._column_plans) >= MAX_COLUMN_PLANS:
                self._column_plans.clear()
            plan = ColumnPlan.of(self.catalogue, self.resolve(entity, features))
            self._column_plans[wanted] = plan
        return plan

    async def _prefix(self) -> str:
        """The current generation's key prefix (``GenerationPointer``, cached)."""
        if self.generations is None:
            return self.key_prefix
        fresh = self.generations.fresh()
        if fresh is not None:
            return fresh
        return await self._bounded("feature generation read", self.generations.current_prefix())

    async def columns(
        self, entity: str, ids: Sequence[EntityId], features: Sequence[str]
    ) -> Columns:
        """The values as columns (``features.columns``): one read for all ids, as ``get``; the
        same errors, no ``stale`` status."""
        [found] = await self.columns_many([(entity, ids, features)])
        return found

    async def columns_many(self, reads: Sequence[ColumnsRead]) -> list[Columns]:
        """``columns`` of several (entity, ids, features) reads with one read of the feature
        store (one MGET), in one generation."""
        prefix = await self._prefix()
        plans: list[ColumnPlan] = []
        keys: list[str] = []
        ends: list[int] = []
        sequences: list[Awaitable[dict[str, list[FeatureValue]]]] = []
        for entity, ids, features in reads:
            plan = self._column_plan(entity, features)
            parts = self._parts(entity, ids)
            keys += serving_keys(prefix, entity, parts, plan.groups)
            plans.append(plan)
            ends.append(len(keys))
            if plan.sequences:
                if self.interactions is None:
                    raise FeatureError(
                        "this reader has no interaction store: it cannot read last_n"
                    )
                sequences.append(
                    read_sequences(self.interactions, plan.sequences, parts)  # type: ignore[arg-type]
                )
        read = self._bounded(f"feature read of {len(keys)} keys", self.store.read_values(keys))
        if sequences:
            raw, *found = await asyncio.gather(read, *sequences)
        else:
            raw, found = await read, []
        out: list[Columns] = []
        start = 0
        listed = iter(found)
        for plan, end in zip(plans, ends, strict=True):
            columns: dict[str, SequenceColumn] = {}
            if plan.sequences:
                columns = {
                    name: SequenceColumn(
                        [v.value for v in values], [v.status != "missing" for v in values]
                    )
                    for name, values in next(listed).items()
                }
            out.append(plan.columns(raw[start:end] if len(plans) > 1 else raw, columns))
            start = end
        return out

    async def get(
        self,
        entity: str,
        ids: Sequence[EntityId],
        features: Sequence[str],
        *,
        now_ms: int | None = None,
    ) -> list[list[FeatureValue]]:
        """Rows in id order, values in feature order. UnknownFeatures, InvalidEntityId for bad
        input; FeatureStoreUnavailable when a backend is down or slow, another StoreError when
        it refuses."""
        refs = self.resolve(entity, features)
        parts = self._parts(entity, ids)
        now = self.clock() if now_ms is None else now_ms
        groups = list(dict.fromkeys(r.group.name for r in refs if r.served_index is not None))
        prefix = await self._prefix()  # one prefix per read: never two generations mixed
        keys = serving_keys(prefix, entity, parts, groups)
        sequences = [r for r in refs if r.served_index is None]
        if sequences and self.interactions is None:
            raise FeatureError("this reader has no interaction store: it cannot read last_n")
        raw, sequence_values = await asyncio.gather(
            self._bounded(f"feature read of {len(keys)} keys", self.store.read_values(keys)),
            read_sequences(self.interactions, sequences, parts),  # type: ignore[arg-type]
        )
        served = served_with_status([self._checks[g] for g in groups], raw, now)
        # Per requested feature: where its value is (group position, index in the value), or
        # None for last_n; and its "missing" value, one shared (immutable) instance per column.
        width = len(groups)
        if not sequences:  # the common case, as one comprehension per row
            plan = [
                (groups.index(r.group.name), r.served_index or 0, _value(r.default, "missing"))
                for r in refs
            ]
            return [
                [
                    absent if (hit := served[base + at]) is None else _value(hit[0][index], hit[1])
                    for at, index, absent in plan
                ]
                for base in range(0, len(parts) * width, width)
            ]
        columns = [
            None if r.served_index is None else (groups.index(r.group.name), r.served_index)
            for r in refs
        ]
        missing = [_value(r.default, "missing") for r in refs]
        rows: list[list[FeatureValue]] = []
        for row_index in range(len(parts)):
            base = row_index * width
            row: list[FeatureValue] = []
            for column, (where, absent) in enumerate(zip(columns, missing, strict=True)):
                if where is None:
                    row.append(sequence_values[refs[column].name][row_index])
                    continue
                found = served[base + where[0]]
                row.append(absent if found is None else _value(found[0][where[1]], found[1]))
            rows.append(row)
        return rows

    async def _bounded(self, what: str, read: Awaitable[T]) -> T:
        try:
            if self.timeout_s is None:
                return await read
            async with asyncio.timeout(self.timeout_s):
                return await read
        except TimeoutError as error:
            raise FeatureStoreUnavailable(
                f"{what}: no answer within {self.timeout_s:g}s"
            ) from error


_new_value = tuple.__new__


def _value(value: Any, status: Status) -> FeatureValue:
    """A FeatureValue without the NamedTuple constructor's Python-level call (hot loop)."""
    return _new_value(FeatureValue, (value, status))


def build_feature_reader(
    settings: Settings,
    store: FeatureStore,
    interactions: InteractionReader | None,
    *,
    catalogue: Catalogue | None = None,
    clock: Clock = wall_clock_ms,
) -> FeatureReader:
    """The one way to build a reader: the catalogue from ``settings.features.definitions_path``
    unless given; DefinitionError if that file is invalid."""
    features = settings.features
    return FeatureReader(
        catalogue or load_catalogue(features.definitions_path),
        store,
        interactions,
        key_prefix=features.key_prefix,
        timeout_s=features.read_timeout_s,
        clock=clock,
        generations=GenerationPointer(
            store, features.key_prefix, ttl_s=features.generation_cache_s
        ),
    )
