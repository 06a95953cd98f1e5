"""Reading a model's levels for the rows of a micro-batch (or the context's one row).

Level by level, every entity kind of the level is read for its *distinct* ids, all of the
level's kinds in one ``FeatureSource.columns_many`` (one MGET); keys derived from a level's
values give the next level's ids. With ``DerivedKeys`` (``models.derived_keys``) the later
levels' ids are guessed from derived keys seen before and read with the first level, in the
same MGET; each level then reads only the ids its guesses missed (none, once warm).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from models.derived_keys import DerivedKeys
from models.graph import EntityRead
from models.source import ColumnsLike, ColumnsRead, EntityId, FeatureSource


@dataclass(frozen=True, slots=True)
class Block:
    """One entity's values for the rows of a micro-batch (or the context's one row), column by
    column in its ``EntityRead.features`` order; ``present`` is False where no value was read
    (the id could not be resolved, or nothing is stored): the cell takes its column's default."""

    values: list[Sequence[Any]]
    present: list[list[bool]]


@dataclass(slots=True)
class ReadStats:
    keys_requested: int = 0
    """Entity ids the rows needed, counted per row (what a read without de-duplication asks)."""
    keys_read: int = 0
    """Distinct entity ids actually read (guessed ahead ones included)."""
    reads: int = 0
    """Entity kinds read (one MGET per level holds them all)."""

    def add(self, other: ReadStats) -> None:
        self.keys_requested += other.keys_requested
        self.keys_read += other.keys_read
        self.reads += other.reads


_STR = frozenset((str,))
Part = tuple[list[EntityId], ColumnsLike]
"""Ids read together and their columns."""


def _key_value(value: object) -> str | None:
    """A derived key's value: strings as they are, whole numbers as text; else unresolved."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _row_keys(column: Sequence[Any], present: Sequence[bool]) -> list[str | None]:
    """A derived key per row from the column that gives it (None where no value was read)."""
    if all(present) and {*map(type, column)} <= _STR and "" not in column:
        return list(column)  # the common case, checked and copied in C
    return [
        _key_value(value) if found else None for value, found in zip(column, present, strict=True)
    ]


def _ids(
    read: EntityRead, fixed: Mapping[str, str | None], row_keys: Mapping[str, list[str | None]],
    n: int,
) -> list[EntityId | None]:  # fmt: skip
    """Per row, the entity's id (None where a key is unresolved)."""
    columns = [row_keys[key] if key in row_keys else [fixed.get(key)] * n for key in read.keys]
    if len(columns) == 1:
        return list(columns[0])
    if not any(None in column for column in columns):
        return list(zip(*columns, strict=True))
    return [None if None in combo else combo for combo in zip(*columns, strict=True)]


def _distinct(ids: Sequence[EntityId | None]) -> list[EntityId]:
    """The ids in first-seen order, without None (in C)."""
    found = dict.fromkeys(ids)
    found.pop(None, None)
    return list(found)  # type: ignore[arg-type]


def _taker(positions: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """A function that picks ``positions`` out of a sequence, in C."""
    if len(positions) == 1:
        [position] = positions
        return lambda values: (values[position],)
    if not positions:
        return lambda values: ()
    return itemgetter(*positions)


def _block(ids: list[EntityId | None], parts: list[Part], width: int) -> Block:
    """The rows' values from the parts read (a row without id, or not read: no value)."""
    n = len(ids)
    if not parts:
        return Block([(None,) * n] * width, [[False] * n] * width)
    if len(parts) == 1 and parts[0][0] == ids:  # every row its own id, in row order
        return Block(parts[0][1].values, parts[0][1].present)
    read = list(chain.from_iterable(part_ids for part_ids, _ in parts))
    # each id's position in the parts end to end (the first, if an id was read twice), in C
    backwards = range(len(read) - 1, -1, -1)
    index: dict[EntityId, int] = dict(zip(reversed(read), backwards, strict=True))
    # the parts' columns end to end, then no value
    values = [
        [*chain.from_iterable(found.values[f] for _, found in parts), None] for f in range(width)
    ]
    # -1: no value (a None id is never indexed)
    positions: list[int] = list(map(index.get, ids, repeat(-1)))  # type: ignore[arg-type]
    take = _taker(positions)
    spread_values: list[Sequence[Any]] = list(map(take, values))
    flags: dict[tuple[int, ...], list[bool]] = {}  # one spread per group (a group shares one)
    present: list[list[bool]] = []
    for f in range(width):
        shared = tuple(id(found.present[f]) for _, found in parts)
        if shared not in flags:
            joined = [*chain.from_iterable(found.present[f] for _, found in parts), False]
            flags[shared] = list(take(joined))
        present.append(flags[shared])
    return Block(spread_values, present)


Guesses = dict[tuple[str, str], tuple[list[EntityId | None], list[str | None]]]
"""Per (entity, derived key): the ids it was guessed for, and its values as remembered."""


def _guess_ahead(
    levels: Sequence[Sequence[EntityRead]], fixed: Mapping[str, str | None],
    row_keys: Mapping[str, list[str | None]], n: int, derived: DerivedKeys,
) -> tuple[list[tuple[EntityRead, list[EntityId]]], Guesses]:  # fmt: skip
    """The distinct ids of each entity past the first level, as remembered derived keys say;
    and the derived keys guessed (nothing new to remember where the values read agree)."""
    keys = dict(row_keys)
    guessed: list[tuple[EntityRead, list[EntityId]]] = []
    guesses: Guesses = {}
    for depth, level in enumerate(levels):
        found = [(read, _ids(read, fixed, keys, n)) for read in level]
        for read, ids in found:
            if depth > 0 and (distinct := _distinct(ids)):
                guessed.append((read, distinct))
            for key, _ in read.derives:
                keys[key] = derived.guess(read.entity, key, ids)
                guesses[(read.entity, key)] = (ids, keys[key])
    return guessed, guesses


async def read_levels(
    source: FeatureSource,
    levels: Sequence[Sequence[EntityRead]],
    fixed: Mapping[str, str | None],
    row_keys: dict[str, list[str | None]],
    n: int,
    stats: ReadStats,
    deadline_at: float | None = None,
    derived: DerivedKeys | None = None,
) -> dict[str, Block] | None:
    """Every entity of ``levels`` for ``n`` rows, level by level; keys derived on the way are
    added to ``row_keys`` (and remembered in ``derived``). None if the loop's clock passed
    ``deadline_at`` before a level."""
    loop = asyncio.get_running_loop()
    values: dict[str, Block] = {}
    ahead: dict[str, Part] = {}
    guessed: list[tuple[EntityRead, list[EntityId]]] = []
    guesses: Guesses = {}
    if derived is not None and len(levels) > 1:
        guessed, guesses = _guess_ahead(levels, fixed, row_keys, n, derived)
    for depth, level in enumerate(levels):
        if deadline_at is not None and loop.time() >= deadline_at:
            return None
        wanted: list[tuple[EntityRead, list[EntityId | None], list[EntityId]]] = []
        reads: list[ColumnsRead] = []
        for read in level:
            ids = _ids(read, fixed, row_keys, n)
            distinct = _distinct(ids)
            stats.keys_requested += n - ids.count(None)
            if read.entity in ahead:  # read with the first level: only what it missed
                known = set(ahead[read.entity][0])
                distinct = [i for i in distinct if i not in known]
            wanted.append((read, ids, distinct))
            if distinct:
                reads.append((read.entity, distinct, read.features))
        if depth == 0:
            reads += [(read.entity, likely, read.features) for read, likely in guessed]
        stats.reads += len(reads)
        stats.keys_read += sum(len(asked) for _, asked, _ in reads)
        found = list(await source.columns_many(reads)) if reads else []
        if depth == 0:
            first = len(found) - len(guessed)
            for (read, likely), columns in zip(guessed, found[first:], strict=True):
                ahead[read.entity] = (likely, columns)
        answers = iter(found)
        for read, ids, distinct in wanted:
            parts = [ahead[read.entity]] if read.entity in ahead else []
            if distinct:
                parts.append((distinct, next(answers)))
            block = _block(ids, parts, len(read.features))
            values[read.entity] = block
            for key, index in read.derives:
                row_keys[key] = _row_keys(block.values[index], block.present[index])
                if derived is not None and guesses.get((read.entity, key)) != (ids, row_keys[key]):
                    derived.remember(read.entity, key, ids, row_keys[key])
    return values
