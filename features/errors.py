"""Errors of the feature domain."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import InterstoreError


class FeatureError(InterstoreError):
    """A feature operation was refused."""


class DefinitionError(FeatureError):
    """The definition file is invalid; ``problems`` lists each as ``file:line: where: why``."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        listed = "\n  ".join(self.problems)
        super().__init__(f"invalid feature definitions in {source}:\n  {listed}")


class UnknownFeatures(FeatureError):
    """A read named features (or an entity) the catalogue does not have; ``names`` lists them."""

    def __init__(self, message: str, names: Sequence[str]) -> None:
        super().__init__(message)
        self.names = list(names)


class InvalidEntityId(FeatureError):
    """An entity id of the wrong shape (a composite id with the wrong number of keys)."""
