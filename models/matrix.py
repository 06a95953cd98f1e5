"""The matrix of a model for one context and its candidates.

The context's entities are read once per request; the candidates are split into micro-batches
(the model's size) resolved concurrently. In a micro-batch each level's entity kinds are read
concurrently, one ``FeatureSource.get`` (one MGET) per entity kind, for the distinct ids only
(twenty products of one category read that user x category once). A micro-batch not done by
the deadline gets its columns' defaults and the row status ``timeout``; the answer is then
``partial``. A source that raises (backend down) fails the whole matrix: never defaults that
claim to be complete.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from models.concurrency import gather_all, until
from models.graph import Column, EntityRead, Plan
from models.source import ColumnsLike, EntityId, FeatureSource

RowStatus = Literal["ok", "missing", "timeout"]
T = TypeVar("T")


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
    """Distinct entity ids actually read."""
    reads: int = 0
    """``FeatureSource.columns`` calls (one MGET each)."""

    def add(self, other: ReadStats) -> None:
        self.keys_requested += other.keys_requested
        self.keys_read += other.keys_read
        self.reads += other.reads


@dataclass(slots=True)
class Matrix:
    columns: list[str]
    values: list[list[object]]
    """Column by column, one value per row (the answer's rows are ``zip(*values)``)."""
    row_status: list[RowStatus]
    partial: bool
    timings_ms: dict[str, float]
    micro_batches: int
    timed_out_batches: int
    stats: ReadStats = field(default_factory=ReadStats)

    @property
    def rows(self) -> list[list[object]]:
        return [list(row) for row in zip(*self.values, strict=True)]


def _key_value(value: object) -> str | None:
    """A derived key's value: strings as they are, whole numbers as text; else unresolved."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


async def _read_entity(
    source: FeatureSource,
    read: EntityRead,
    fixed: Mapping[str, str | None],
    row_keys: Mapping[str, list[str | None]],
    n: int,
    stats: ReadStats,
) -> Block:
    columns = [row_keys[key] if key in row_keys else [fixed.get(key)] * n for key in read.keys]
    ids: list[EntityId | None]
    if len(columns) == 1:
        ids = list(columns[0])
    else:
        ids = [None if None in combo else combo for combo in zip(*columns, strict=True)]
    wanted = [i for i in ids if i is not None]
    unique = list(dict.fromkeys(wanted))
    stats.keys_requested += len(wanted)
    stats.keys_read += len(unique)
    if not unique:
        width = len(read.features)
        return Block([(None,) * n] * width, [[False] * n] * width)
    stats.reads += 1
    found = await source.columns(read.entity, unique, read.features)
    if len(unique) == n:  # every row has its own id, in row order: the columns as read
        return Block(found.values, found.present)
    return _spread(found, ids, unique)


def _spread(found: ColumnsLike, ids: list[EntityId | None], unique: list[EntityId]) -> Block:
    """Columns read for the distinct ids, spread over the rows (index -1: a row without id)."""
    index = {entity_id: k for k, entity_id in enumerate(unique)}
    positions = [-1 if i is None else index[i] for i in ids]
    values = [[*column, None] for column in found.values]
    spread_values: list[Sequence[Any]] = [[column[p] for p in positions] for column in values]
    flags: dict[int, list[bool]] = {}  # one spread per distinct list (a group shares one)
    for column in found.present:
        if id(column) not in flags:
            extended = [*column, False]
            flags[id(column)] = [extended[p] for p in positions]
    return Block(spread_values, [flags[id(column)] for column in found.present])


async def read_levels(
    source: FeatureSource,
    levels: Sequence[Sequence[EntityRead]],
    fixed: Mapping[str, str | None],
    row_keys: dict[str, list[str | None]],
    n: int,
    stats: ReadStats,
    deadline_at: float | None = None,
) -> dict[str, Block] | None:
    """Every entity of ``levels`` for ``n`` rows, level by level; keys derived on the way are
    added to ``row_keys``. None if the loop's clock passed ``deadline_at`` before a level."""
    loop = asyncio.get_running_loop()
    values: dict[str, Block] = {}
    for level in levels:
        if deadline_at is not None and loop.time() >= deadline_at:
            return None
        found = await gather_all(
            [_read_entity(source, read, fixed, row_keys, n, stats) for read in level]
        )
        for read, block in zip(level, found, strict=True):
            values[read.entity] = block
            for key, index in read.derives:
                column, flags = block.values[index], block.present[index]
                row_keys[key] = [
                    _key_value(value) if present else None
                    for value, present in zip(column, flags, strict=True)
                ]
    return values


@dataclass(slots=True)
class _Batch:
    size: int
    values: dict[str, Block] | None
    """None: the micro-batch missed the deadline."""


class MatrixBuilder:
    """Builds matrices from one feature source (``features.reader.FeatureReader``)."""

    def __init__(self, source: FeatureSource) -> None:
        self.source = source

    async def build(
        self,
        plan: Plan,
        context: Mapping[str, str],
        candidates: Sequence[str],
        *,
        micro_batch: int,
        deadline_s: float,
    ) -> Matrix:
        started = time.perf_counter()
        deadline_at = asyncio.get_running_loop().time() + deadline_s
        fixed: dict[str, str | None] = dict(context)
        sizes = range(0, len(candidates), micro_batch)
        batches = [list(candidates[i : i + micro_batch]) for i in sizes]
        context_ms = 0.0

        async def context_phase() -> tuple[dict[str, Block] | None, ReadStats]:
            nonlocal context_ms
            row_keys: dict[str, list[str | None]] = {}
            own = ReadStats()
            values = await read_levels(
                self.source, plan.context_levels, fixed, row_keys, 1, own, deadline_at
            )
            context_ms = (time.perf_counter() - started) * 1000
            fixed.update({key: found[0] for key, found in row_keys.items()})
            return values, own

        async def batch_phase(
            ids: list[str],
        ) -> tuple[dict[str, Block] | None, ReadStats]:
            own = ReadStats()
            row_keys: dict[str, list[str | None]] = {plan.candidate_key: list(ids)}
            values = await read_levels(
                self.source, plan.candidate_levels, fixed, row_keys, len(ids), own, deadline_at
            )
            return values, own

        if plan.derived_context_keys:  # the micro-batches need keys the context phase derives
            [first] = await until(deadline_at, [context_phase()])
            found = [first, *await until(deadline_at, [batch_phase(ids) for ids in batches])]
        else:  # the context is read while the micro-batches are
            found = await until(deadline_at, [context_phase(), *map(batch_phase, batches)])
        stats = ReadStats()
        for outcome in found:
            if outcome is not None:
                stats.add(outcome[1])
        context_values = None if found[0] is None else found[0][0]
        outcomes = [
            _Batch(len(ids), None if outcome is None else outcome[0])
            for ids, outcome in zip(batches, found[1:], strict=True)
        ]
        fetched = time.perf_counter()
        matrix = assemble(plan, context_values, outcomes)
        done = time.perf_counter()
        matrix.stats = stats
        matrix.timings_ms = {
            "context": round(context_ms, 3),
            "fetch": round((fetched - started) * 1000, 3),
            "assemble": round((done - fetched) * 1000, 3),
        }
        return matrix


def assemble(
    plan: Plan, context_values: dict[str, Block] | None, batches: Sequence[_Batch]
) -> Matrix:
    """Values in candidate order. Context columns carry the context's values in every row (its
    defaults if the context read timed out); a timed-out micro-batch's other columns carry
    their defaults."""
    context_timeout = context_values is None
    context_entities = {read.entity for level in plan.context_levels for read in level}
    template: list[object] = []
    candidate_columns: set[int] = set()
    for position, column in enumerate(plan.columns):
        if context_values is not None and column.entity in context_values:
            block = context_values[column.entity]
            present = block.present[column.index][0]
            template.append(block.values[column.index][0] if present else column.default)
        else:
            template.append(column.default)
            if not context_timeout or column.entity not in context_entities:
                candidate_columns.add(position)
    values: list[list[object]] = [[] for _ in plan.columns]
    statuses: list[RowStatus] = []
    timed_out = 0
    for batch in batches:
        size, blocks = batch.size, batch.values
        if blocks is None:
            timed_out += 1
            for out, value in zip(values, template, strict=True):
                out += [value] * size
            statuses += ["timeout"] * size
            continue
        for position, (out, column) in enumerate(zip(values, plan.columns, strict=True)):
            if position in candidate_columns:
                out += _column(column, blocks[column.entity])
            else:
                out += [template[position]] * size
        candidate = blocks.get(plan.candidate_entity)
        if context_timeout:
            statuses += ["timeout"] * size
        elif candidate is None:
            statuses += ["ok"] * size
        else:
            statuses += ["ok" if found else "missing" for found in _any_present(candidate)]
    return Matrix(
        columns=plan.column_names,
        values=values,
        row_status=statuses,
        partial=context_timeout or timed_out > 0,
        timings_ms={},
        micro_batches=len(batches),
        timed_out_batches=timed_out + (1 if context_timeout else 0),
    )


def _column(column: Column, block: Block) -> Sequence[object]:
    """One column's values for a micro-batch's rows: its default where none was read."""
    values, present = block.values[column.index], block.present[column.index]
    if all(present):
        return values
    default = column.default
    return [value if found else default for value, found in zip(values, present, strict=True)]


def _any_present(block: Block) -> list[bool]:
    """Per row: was any of the entity's values read (a row with none is ``missing``)."""
    distinct = list({id(flags): flags for flags in block.present}.values())
    if len(distinct) == 1:
        return distinct[0]
    return [any(flags) for flags in zip(*distinct, strict=True)]
