"""Feature values of many entities as columns: what a model's matrix reads
(``FeatureReader.columns``), without a Python object per value.

Per requested feature, one list of values in id order (the feature's default where there is no
value) and one list of flags saying where a value was read; the features of one group share one
flag list. The serving values of a group are decoded together (``features.serving``'s
``served_values``: one msgpack call per value, no ``ServingValue`` or ``FeatureValue``). Unlike
``FeatureReader.get``, no ``stale`` status: a matrix only tells a value from its absence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_not
from typing import Any, NamedTuple

from features.catalogue import Catalogue, FeatureRef
from features.serving import served_values

log = logging.getLogger("interstore.features")


class Columns(NamedTuple):
    values: list[Sequence[Any]]
    """Per feature, one value per id: the feature's default where there is none."""
    present: list[list[bool]]
    """Per feature, True where a value was read (one shared list per group)."""
    defaults: list[Any]
    """Per feature, its declared default."""


class SequenceColumn(NamedTuple):
    """A ``last_n`` feature's values per id, and where there were any."""

    values: list[Any]
    present: list[bool]


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How one entity's features are found in its serving values; built once per feature list."""

    groups: list[str]
    """The groups read, in key order within an id."""
    checks: list[tuple[str, int]]
    """Per group: the fingerprint and the width a serving value must have."""
    fills: list[tuple[Any, ...]]
    """Per group: its served features' defaults (the values of an id without one)."""
    where: list[tuple[int, int]]
    """Per feature: (group position, index in the group's values); (-1, -1) for ``last_n``."""
    refs: list[FeatureRef]
    defaults: list[Any]
    """Per feature, its declared default (computed once: ``FeatureRef.default`` is a call)."""
    sequences: list[FeatureRef]
    """The ``last_n`` features, read from the interaction store."""

    @classmethod
    def of(cls, catalogue: Catalogue, refs: list[FeatureRef]) -> ColumnPlan:
        groups = list(dict.fromkeys(r.group.name for r in refs if r.served_index is not None))
        checks = [(catalogue.fingerprints[g], len(catalogue.served(g))) for g in groups]
        fills = [
            tuple(catalogue.features[f"{g}.{f.name}"].default for f in catalogue.served(g))
            for g in groups
        ]
        where = [
            (-1, -1) if r.served_index is None else (groups.index(r.group.name), r.served_index)
            for r in refs
        ]
        defaults = [r.default for r in refs]
        sequences = [r for r in refs if r.served_index is None]
        return cls(groups, checks, fills, where, refs, defaults, sequences)

    def columns(
        self, raw: Sequence[bytes | None], sequences: Mapping[str, SequenceColumn]
    ) -> Columns:
        """The columns of the ids read: ``raw`` holds the serving values of every (id, group) pair
        in id order then group order; ``sequences`` holds each ``last_n`` feature's column."""
        width = len(self.groups)
        per_group: list[tuple[list[tuple[Any, ...]], list[bool]]] = []
        for position, (fingerprint, size) in enumerate(self.checks):
            found, unreadable = served_values(raw[position::width], fingerprint, size)
            if unreadable:
                log.warning(
                    "%d unreadable serving value(s) of group %s", unreadable, self.groups[position]
                )
            flags = list(map(is_not, found, repeat(None)))  # in C
            rows: Sequence[Sequence[Any] | None] = found
            if not all(flags):
                fill = self.fills[position]
                rows = [fill if values is None else values for values in found]
            # the group's values feature by feature, transposed in one C call
            per_group.append((list(zip(*rows, strict=True)), flags))
        values: list[Sequence[Any]] = []
        present: list[list[bool]] = []
        for ref, (group, index) in zip(self.refs, self.where, strict=True):
            if group < 0:
                column = sequences[ref.name]
                values.append(column.values)
                present.append(column.present)
                continue
            transposed, flags = per_group[group]
            values.append(transposed[index] if transposed else ())
            present.append(flags)
        return Columns(values, present, self.defaults)
