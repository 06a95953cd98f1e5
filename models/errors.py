"""Errors of model configs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import InterstoreError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a model file: where (``field``, e.g. ``columns[3]``) and what."""

    field: str
    message: str

    def describe(self, file: str) -> str:
        return f"{file}: {self.field}: {self.message}" if self.field else f"{file}: {self.message}"


class ModelConfigError(InterstoreError):
    """A model file that cannot be loaded; every problem names the file and the field."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__("; ".join(problem.describe(file) for problem in self.problems))


class UnknownModel(InterstoreError):
    """No model of that id is loaded."""


class ScorerError(InterstoreError):
    """A scorer failed or returned something other than one finite score per candidate."""
