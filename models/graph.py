"""The resolver: a model file checked against the feature catalogue and ordered into levels.

Keys come from the caller (``context``), from the candidates (``candidate.key``) or from a
feature fetched earlier (``derived``). An entity can be read once all its keys are known, so
its level is one more than the deepest entity one of its keys was derived from (keys the
caller sends are level 0). Entities whose keys all come from the context are read once per
request (``context_levels``); the rest once per micro-batch (``candidate_levels``), one read
per entity kind per level. Computed once, at load.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from models.catalogue_view import CatalogueView, FeatureSpec
from models.config import ModelFile
from models.errors import Problem

Scope = Literal["context", "candidate"]


@dataclass(frozen=True, slots=True)
class EntityRead:
    """One entity kind read at one level: the features asked for, the keys it provides."""

    entity: str
    keys: tuple[str, ...]
    features: tuple[str, ...]
    """``group.feature`` names, columns first, then the features derived keys come from."""
    level: int
    scope: Scope
    derives: tuple[tuple[str, int], ...]
    """(key, index into ``features``) of each key derived from this entity's values."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    """``entity.group.feature``"""
    entity: str
    index: int
    """Where the value is in the entity's ``features``."""
    default: object
    override: bool
    """The model replaces the feature's own default with ``default``."""
    numeric: bool


@dataclass(frozen=True, slots=True)
class Plan:
    context_keys: tuple[str, ...]
    candidate_entity: str
    candidate_key: str
    context_levels: tuple[tuple[EntityRead, ...], ...]
    candidate_levels: tuple[tuple[EntityRead, ...], ...]
    columns: tuple[Column, ...]
    derived_context_keys: tuple[str, ...]
    """Keys of the context derived from features (the micro-batches wait for them)."""

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _split(name: str) -> tuple[str, str] | None:
    entity, dot, feature = name.partition(".")
    return (entity, feature) if dot and feature.count(".") == 1 else None


class _Resolver:
    def __init__(self, model: ModelFile, view: CatalogueView) -> None:
        self.model = model
        self.view = view
        self.problems: list[Problem] = []
        self.key_level: dict[str, int] = dict.fromkeys(model.context, 0)
        self.key_scope: dict[str, Scope] = dict.fromkeys(model.context, "context")
        self.visiting: set[str] = set()

    def fail(self, field: str, message: str) -> None:
        self.problems.append(Problem(field, message))

    def feature(self, field: str, name: str) -> tuple[str, FeatureSpec] | None:
        """``entity.group.feature`` -> (entity, spec), or a problem."""
        parts = _split(name)
        if parts is None:
            self.fail(field, f"{name!r} is not entity.group.feature")
            return None
        entity, qualified = parts
        if entity not in self.view.entities:
            known = ", ".join(sorted(self.view.entities))
            self.fail(field, f"unknown entity {entity!r} in {name!r}; known: {known}")
            return None
        spec = self.view.features.get(qualified)
        if spec is None:
            self.fail(field, f"unknown feature {qualified!r} (from {name!r})")
            return None
        if spec.entity != entity:
            self.fail(
                field, f"feature {qualified!r} belongs to entity {spec.entity!r}, not {entity!r}"
            )
            return None
        return entity, spec

    def entity_level(self, field: str, entity: str) -> tuple[int, Scope] | None:
        """The level at which ``entity`` can be read, resolving derived keys on the way."""
        level = 0
        scope_: Scope = "context"
        for key in self.view.entities[entity]:
            found = self.resolve_key(field, key, entity)
            if found is None:
                return None
            level = max(level, found[0])
            scope_ = "candidate" if found[1] == "candidate" else scope_
        return level, scope_

    def resolve_key(self, field: str, key: str, needed_by: str) -> tuple[int, Scope] | None:
        if key in self.key_level:
            return self.key_level[key], self.key_scope[key]
        source = self.model.derived.get(key)
        if source is None:
            self.fail(
                field,
                f"entity {needed_by!r} needs key {key!r}, which neither the context, the "
                "candidate nor a derived entry provides",
            )
            return None
        where = f"derived.{key}"
        if key in self.visiting:
            self.fail(where, f"cycle: key {key!r} is needed to read the feature it comes from")
            return None
        self.visiting.add(key)
        try:
            found = self.feature(where, source)
            if found is None:
                return None
            entity, spec = found
            if not spec.numeric and spec.type != "attribute":
                self.fail(where, f"a key must come from a single value, not a {spec.type} feature")
                return None
            level = self.entity_level(where, entity)
            if level is None:
                return None
        finally:
            self.visiting.discard(key)
        self.key_level[key], self.key_scope[key] = level[0] + 1, level[1]
        return self.key_level[key], self.key_scope[key]


def resolve(model: ModelFile, view: CatalogueView) -> tuple[Plan | None, list[Problem]]:
    """The model's plan, or the problems that prevent one (all of them, not just the first)."""
    r = _Resolver(model, view)
    candidate = model.candidate
    if candidate.entity not in view.entities:
        r.fail("candidate.entity", f"unknown entity {candidate.entity!r}")
        return None, r.problems
    keys = view.entities[candidate.entity]
    if candidate.key not in keys:
        r.fail("candidate.key", f"{candidate.key!r} is not a key of {candidate.entity!r} {keys}")
    for key in model.derived:
        if key in model.context or key == candidate.key:
            r.fail(f"derived.{key}", f"{key!r} is already given by the caller")
    r.key_level[candidate.key], r.key_scope[candidate.key] = 0, "candidate"
    for key in model.derived:
        r.resolve_key(f"derived.{key}", key, "derived")
    # entity -> [group.feature, ...]; columns first, in order
    wanted: dict[str, list[str]] = defaultdict(list)
    placed: list[tuple[str, FeatureSpec, object, bool]] = []
    for index, column in enumerate(model.column_specs()):
        field = f"columns[{index}]"
        found = r.feature(field, column.feature)
        if found is None or r.entity_level(field, found[0]) is None:
            continue
        entity, spec = found
        if column.feature in {name for name, *_ in placed}:
            r.fail(field, f"{column.feature!r} is already a column")
            continue
        if spec.qualified not in wanted[entity]:
            wanted[entity].append(spec.qualified)
        default = column.default if column.has_default else spec.default
        placed.append((column.feature, spec, default, column.has_default))
    if r.problems:
        return None, r.problems
    derives: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for key, source in model.derived.items():
        entity, qualified = source.split(".", 1)
        if qualified not in wanted[entity]:
            wanted[entity].append(qualified)
        derives[entity].append((key, wanted[entity].index(qualified)))
    reads = []
    for entity, features in wanted.items():
        level = r.entity_level(entity, entity)
        assert level is not None  # every entity here resolved above
        reads.append(
            EntityRead(
                entity,
                view.entities[entity],
                tuple(features),
                level[0],
                level[1],
                tuple(derives[entity]),
            )
        )
    columns = tuple(
        Column(
            name,
            spec.entity,
            wanted[spec.entity].index(spec.qualified),
            default,
            override,
            spec.numeric,
        )
        for name, spec, default, override in placed
    )
    plan = Plan(
        context_keys=tuple(model.context),
        candidate_entity=candidate.entity,
        candidate_key=candidate.key,
        context_levels=_levels([read for read in reads if read.scope == "context"]),
        candidate_levels=_levels([read for read in reads if read.scope == "candidate"]),
        columns=columns,
        derived_context_keys=tuple(
            key for key in model.derived if r.key_scope.get(key) == "context"
        ),
    )
    return plan, []


def _levels(reads: list[EntityRead]) -> tuple[tuple[EntityRead, ...], ...]:
    by_level: dict[int, list[EntityRead]] = defaultdict(list)
    for read in reads:
        by_level[read.level].append(read)
    return tuple(tuple(by_level[level]) for level in sorted(by_level))
