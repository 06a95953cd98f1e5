"""What a model config is checked against: the feature catalogue's entities (with their keys)
and features (with their entity, type and default), as the models package needs them.

``api`` builds one from ``features.catalogue.Catalogue`` (``view_of``); unit tests build one
directly. Models never import the features package: they read features through
``models.source.FeatureSource``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

NUMERIC_TYPES = frozenset({"count", "sum", "ratio", "last_time", "distinct"})
"""Feature types whose values are numbers (or null): they go into the numeric matrix."""
SEQUENCE_TYPES = frozenset({"last_n"})


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    entity: str
    group: str
    name: str
    type: str
    default: object

    @property
    def qualified(self) -> str:
        """``group.feature``: the name the feature reader takes."""
        return f"{self.group}.{self.name}"

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True, slots=True)
class CatalogueView:
    entities: Mapping[str, tuple[str, ...]]
    """Entity name -> its keys, in order (``user_category``: ``(user_id, category_id)``)."""
    features: Mapping[str, FeatureSpec]
    """``group.feature`` -> its spec."""
