"""FeatureReader on in-memory stores: statuses, defaults, order, last_n from the read path."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from core.settings import RetentionSettings, SessionSettings, Settings
from features.catalogue import Catalogue
from features.errors import FeatureError, InvalidEntityId, UnknownFeatures
from features.reader import FeatureReader, FeatureValue, build_feature_reader
from features.serving import ServingValue, encode_serving
from store.errors import FeatureStoreUnavailable
from store.feature_store import serving_key
from store.interactions import Interaction
from store.read_path import InteractionReader
from tests.support.memory_cold import InMemoryColdStore
from tests.support.memory_features import InMemoryFeatureStore
from tests.support.memory_hot import InMemoryHotStore

NOW = 1_780_000_000_000
MINUTE = 60_000


class Stores:
    def __init__(self) -> None:
        clock = lambda: NOW  # noqa: E731
        self.features = InMemoryFeatureStore()
        self.hot = InMemoryHotStore(SessionSettings(), RetentionSettings(), clock=clock)
        self.cold = InMemoryColdStore(RetentionSettings(), clock=clock)
        self.reader = build_feature_reader(
            Settings(), self.features, InteractionReader(self.hot, self.cold), clock=clock
        )

    @property
    def catalogue(self) -> Catalogue:
        return self.reader.catalogue

    async def put(
        self,
        entity: str,
        ids: Sequence[str],
        group: str,
        values: dict[str, Any],
        *,
        valid_until: int | None = None,
        fingerprint: str | None = None,
    ) -> None:
        served = self.catalogue.served(group)
        row = [values.get(f.name, 0) for f in served]
        value = ServingValue(
            fingerprint or self.catalogue.fingerprints[group], NOW - 1000, NOW, valid_until, row
        )
        key = serving_key("isf", entity, tuple(ids), group)
        await self.features.write_values({key: encode_serving(value)})


@pytest.fixture
def stores() -> Stores:
    return Stores()


def click(user: str, product: str, ts: int) -> Interaction:
    return Interaction("click", f"e-{user}-{ts}", user, product, "c1", ts, "home", 1)


async def test_values_in_request_order_with_statuses_and_defaults(stores: Stores) -> None:
    await stores.put("product", ["p1"], "product_stats", {"orders_7d": 7, "clicks_1h": 3})
    await stores.put("product", ["p1"], "product_attributes", {"category_id": "c1"})
    rows = await stores.reader.get(
        "product",
        ["p1", "p2"],
        ["product_attributes.category_id", "product_stats.orders_7d", "product_stats.clicks_1h"],
    )
    assert rows == [
        [FeatureValue("c1", "present"), FeatureValue(7, "present"), FeatureValue(3, "present")],
        [FeatureValue(None, "missing"), FeatureValue(0, "missing"), FeatureValue(0, "missing")],
    ]
    generation, values = stores.features.reads  # the generation pointer (cached), then
    assert len(generation) == 1  # one read for every (id, group)
    assert len(values) == 4


async def test_stale_after_valid_until_plus_max_age(stores: Stores) -> None:
    await stores.put("product", ["fresh"], "product_stats", {}, valid_until=NOW - 10 * MINUTE)
    await stores.put("product", ["late"], "product_stats", {}, valid_until=NOW - 10 * MINUTE - 1)
    await stores.put("product", ["forever"], "product_stats", {}, valid_until=None)
    rows = await stores.reader.get(
        "product", ["fresh", "late", "forever"], ["product_stats.orders_7d"]
    )
    assert [row[0].status for row in rows] == ["present", "stale", "present"]
    later = await stores.reader.get(
        "product", ["fresh"], ["product_stats.orders_7d"], now_ms=NOW + MINUTE
    )
    assert later[0][0].status == "stale"


async def test_other_definitions_and_garbage_read_as_missing(stores: Stores) -> None:
    await stores.put("product", ["old"], "product_stats", {"orders_7d": 9}, fingerprint="other")
    key = serving_key("isf", "product", ("junk",), "product_stats")
    await stores.features.write_values({key: b"\x00not msgpack"})
    rows = await stores.reader.get("product", ["old", "junk"], ["product_stats.orders_7d"])
    assert rows == [[FeatureValue(0, "missing")], [FeatureValue(0, "missing")]]


async def test_ratio_default_is_zero_div(stores: Stores) -> None:
    [[value]] = await stores.reader.get("product", ["p"], ["product_stats.conversion_7d"])
    assert value == FeatureValue(0.0, "missing")


async def test_composite_ids(stores: Stores) -> None:
    await stores.put("user_category", ["u1", "c1"], "user_category_affinity", {"clicks_7d": 4})
    rows = await stores.reader.get(
        "user_category", [("u1", "c1"), ("u1", "c2")], ["user_category_affinity.clicks_7d"]
    )
    assert rows == [[FeatureValue(4, "present")], [FeatureValue(0, "missing")]]
    with pytest.raises(InvalidEntityId, match="2 key"):
        await stores.reader.get("user_category", ["u1"], ["user_category_affinity.clicks_7d"])


async def test_unknown_names_are_all_named(stores: Stores) -> None:
    with pytest.raises(UnknownFeatures) as caught:
        await stores.reader.get(
            "product", ["p"], ["product_stats.orders_7d", "nope.x", "user_activity.clicks_1h"]
        )
    assert caught.value.names == ["nope.x", "user_activity.clicks_1h"]
    with pytest.raises(UnknownFeatures, match="unknown entity 'shop'"):
        await stores.reader.get("shop", ["p"], ["product_stats.orders_7d"])


async def test_last_n_is_the_read_paths_answer(stores: Stores) -> None:
    clicks = [click("u1", f"p{i}", NOW - i * MINUTE) for i in range(25)]
    order = Interaction("order", "o1", "u1", "p99", "c1", NOW, order_id="o", quantity=1,
                        price=Decimal("2.50"), currency="EUR")  # fmt: skip
    await stores.cold.write_many([*clicks, order])
    features = ["user_activity.recent_clicked_products", "user_activity.recent_ordered_products"]
    rows = await stores.reader.get("user", ["u1", "u2"], features)
    recent = await stores.reader.interactions.recent_json_many(["u1"], kinds=["click"], limit=20)
    from_route = [row["product_id"] for row in recent[0].interactions]  # type: ignore[union-attr]
    assert rows[0] == [FeatureValue(from_route, "present"), FeatureValue(["p99"], "present")]
    assert from_route == [f"p{i}" for i in range(20)]
    assert rows[1] == [FeatureValue([], "missing"), FeatureValue([], "missing")]


async def test_a_down_store_raises_unavailable(stores: Stores) -> None:
    stores.features.down = True
    with pytest.raises(FeatureStoreUnavailable):
        await stores.reader.get("product", ["p"], ["product_stats.orders_7d"])


def test_the_factory_reads_the_configured_file(stores: Stores) -> None:
    assert isinstance(stores.reader, FeatureReader)
    assert len(stores.catalogue.features) >= 40


async def test_a_reader_without_interaction_store_refuses_last_n_only(stores: Stores) -> None:
    reader = build_feature_reader(Settings(), stores.features, None, clock=lambda: NOW)
    [[value]] = await reader.get("user", ["u1"], ["user_activity.clicks_1h"])
    assert value == FeatureValue(0, "missing")
    with pytest.raises(FeatureError, match="cannot read last_n"):
        await reader.get("user", ["u1"], ["user_activity.recent_clicked_products"])
