"""Scorers named by a model file: a linear or logistic model whose weights are in the file
(one matrix product over the numeric columns, NumPy), or a ``module:function`` entry point
called as ``function(matrix, columns)`` with the same float64 matrix and its column names,
returning one score per row."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.config import ScorerSpec
from models.errors import Problem, ScorerError
from models.graph import Plan

FloatMatrix = npt.NDArray[np.float64]
ScoreFunction = Callable[[FloatMatrix, list[str]], object]


def numeric_matrix(plan: Plan, values: Sequence[Sequence[object]]) -> FloatMatrix:
    """The numeric columns of a matrix given column by column (``Matrix.values``) as a float64
    rows x columns matrix (null -> NaN)."""
    numeric = [column for column, spec in zip(values, plan.columns, strict=True) if spec.numeric]
    if not numeric:
        return np.empty((len(values[0]) if values else 0, 0), dtype=np.float64)
    # NumPy reads None as NaN in a float array
    return np.ascontiguousarray(np.array(numeric, dtype=np.float64).T)


@dataclass(frozen=True, slots=True)
class Scorer:
    kind: str
    timed_out_rows: str
    columns: list[str]
    """The numeric columns, in matrix order."""
    weights: FloatMatrix | None = None
    bias: float = 0.0
    function: ScoreFunction | None = None

    def score(self, matrix: FloatMatrix) -> FloatMatrix:
        """One finite score per row; ScorerError otherwise."""
        if self.function is not None:
            try:
                raw = self.function(matrix, list(self.columns))
                scores = np.asarray(raw, dtype=np.float64).reshape(-1)
            except Exception as exc:
                raise ScorerError(
                    f"scorer {self.kind} failed: {type(exc).__name__}: {exc}"
                ) from exc
        else:
            assert self.weights is not None
            scores = np.nan_to_num(matrix, nan=0.0) @ self.weights + self.bias
            if self.kind == "logistic":
                scores = 1.0 / (1.0 + np.exp(-scores))
        if scores.shape != (matrix.shape[0],) or not np.all(np.isfinite(scores)):
            raise ScorerError(
                f"scorer {self.kind} returned {scores.shape} scores (finite: "
                f"{bool(np.all(np.isfinite(scores)))}) for {matrix.shape[0]} rows"
            )
        return scores


def build_scorer(spec: ScorerSpec, plan: Plan) -> tuple[Scorer | None, list[Problem]]:
    numeric = [column.name for column in plan.columns if column.numeric]
    problems: list[Problem] = []
    if spec.kind == "entry_point":
        if spec.entry_point is None:
            return None, [Problem("scorer.entry_point", "kind entry_point needs module:function")]
        module_name, _, name = spec.entry_point.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError) as exc:
            return None, [Problem("scorer.entry_point", f"cannot load {spec.entry_point}: {exc}")]
        if not callable(function):
            return None, [Problem("scorer.entry_point", f"{spec.entry_point} is not callable")]
        return Scorer(spec.kind, spec.timed_out_rows, numeric, function=function), []
    if not spec.weights:
        problems.append(Problem("scorer.weights", f"a {spec.kind} scorer needs weights"))
    for name in spec.weights:
        if name not in numeric:
            why = "is not a numeric column" if name in plan.column_names else "is not a column"
            problems.append(Problem(f"scorer.weights.{name}", f"{name!r} {why}"))
    if problems:
        return None, problems
    weights = np.array([spec.weights.get(name, 0.0) for name in numeric], dtype=np.float64)
    return Scorer(spec.kind, spec.timed_out_rows, numeric, weights=weights, bias=spec.bias), []
