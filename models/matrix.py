"""The matrix of a model for one context and its candidates.

The context's entities are read once per request; the candidates are split into micro-batches
(the model's size) resolved concurrently. In a micro-batch each level's entity kinds are read
together (``models.levels``: one ``FeatureSource.columns_many``, one MGET), each for its
distinct ids only (twenty products of one category read that user x category once), and with
remembered derived keys every level in one round trip (``models.derived_keys``). A
micro-batch not done by the deadline gets its columns' defaults and the row status
``timeout``; the answer is then ``partial``. A source that raises (backend down) fails the
whole matrix: never defaults that claim to be complete.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from models.concurrency import until
from models.derived_keys import DerivedKeys
from models.graph import Column, Plan
from models.levels import Block, ReadStats, read_levels
from models.source import FeatureSource

RowStatus = Literal["ok", "missing", "timeout"]


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


@dataclass(slots=True)
class _Batch:
    size: int
    values: dict[str, Block] | None
    """None: the micro-batch missed the deadline."""


class MatrixBuilder:
    """Builds matrices from one feature source (``features.reader.FeatureReader``)."""

    def __init__(self, source: FeatureSource, derived: DerivedKeys | None = None) -> None:
        """``derived``: derived keys seen before, to read a micro-batch's levels in one round
        trip (``models.derived_keys``); None: level by level."""
        self.source = source
        self.derived = derived

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
                self.source, plan.context_levels, fixed, row_keys, 1, own, deadline_at,
                self.derived,
            )  # fmt: skip
            context_ms = (time.perf_counter() - started) * 1000
            fixed.update({key: found[0] for key, found in row_keys.items()})
            return values, own

        async def batch_phase(
            ids: list[str],
        ) -> tuple[dict[str, Block] | None, ReadStats]:
            own = ReadStats()
            row_keys: dict[str, list[str | None]] = {plan.candidate_key: list(ids)}
            values = await read_levels(
                self.source, plan.candidate_levels, fixed, row_keys, len(ids), own, deadline_at,
                self.derived,
            )  # fmt: skip
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
            found = _any_present(candidate)
            if all(found):
                statuses += ["ok"] * size
            else:
                statuses += ["ok" if one else "missing" for one in found]
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
