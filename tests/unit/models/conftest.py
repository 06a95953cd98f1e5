"""Pure-logic fixtures for the models package: a catalogue view and an in-memory feature source
with exactly the ``FeatureReader.columns_many`` signature (counting its reads)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import pytest

from models.catalogue_view import CatalogueView, FeatureSpec
from models.source import ColumnsRead, EntityId

FEATURES = {
    "user": {"user_activity": {"clicks_1h": ("count", 0), "orders_30d": ("count", 0),
                               "last_order_at": ("last_time", None),
                               "recent_clicked_products": ("last_n", [])},
             "user_prefs": {"favourite_category": ("attribute", None)}},
    "product": {"product_stats": {"clicks_1h": ("count", 0), "conversion_7d": ("ratio", 0.0)},
                "product_attributes": {"category_id": ("attribute", None),
                                       "brand_id": ("attribute", None)}},
    "brand": {"brand_stats": {"orders_7d": ("count", 0), "parent_id": ("attribute", None)}},
    "category": {"category_stats": {"clicks_24h": ("count", 0)}},
    "user_category": {"user_category_affinity": {"clicks_7d": ("count", 0),
                                                 "spend_30d": ("sum", 0.0)}},
}  # fmt: skip
KEYS = {
    "user": ("user_id",),
    "product": ("product_id",),
    "brand": ("brand_id",),
    "category": ("category_id",),
    "user_category": ("user_id", "category_id"),
}


def make_view() -> CatalogueView:
    specs = {
        f"{group}.{name}": FeatureSpec(entity, group, name, kind, default)
        for entity, groups in FEATURES.items()
        for group, features in groups.items()
        for name, (kind, default) in features.items()
    }
    return CatalogueView(KEYS, specs)


@pytest.fixture
def view() -> CatalogueView:
    return make_view()


class Columns(NamedTuple):
    values: list[list[object]]
    present: list[list[bool]]


class SourceDown(Exception):
    pass


@dataclass
class FakeSource:
    """Values per (entity, id): ``{"group.feature": value}``; absent -> the default, missing."""

    view: CatalogueView
    values: dict[tuple[str, EntityId], dict[str, object]] = field(default_factory=dict)
    calls: list[tuple[str, list[EntityId]]] = field(default_factory=list)
    delay_s: dict[str, float] = field(default_factory=dict)
    down: bool = False

    reads: int = 0
    """``columns_many`` calls (one MGET each)."""

    async def columns_many(self, reads: Sequence[ColumnsRead]) -> list[Columns]:
        if self.down:
            raise SourceDown("feature store is down")
        self.reads += 1
        self.calls += [(entity, list(ids)) for entity, ids, _ in reads]
        if delay := max(self.delay_s.get(entity, 0.0) for entity, _, _ in reads):
            await asyncio.sleep(delay)
        return [self._columns(entity, ids, features) for entity, ids, features in reads]

    def _columns(self, entity: str, ids: Sequence[EntityId], features: Sequence[str]) -> Columns:
        stored = [self.values.get((entity, entity_id)) for entity_id in ids]
        values = [
            [
                row[name] if row is not None and name in row else self.view.features[name].default
                for row in stored
            ]
            for name in features
        ]
        present = [[row is not None and name in row for row in stored] for name in features]
        return Columns(values, present)


@pytest.fixture
def source(view: CatalogueView) -> FakeSource:
    return FakeSource(view)
