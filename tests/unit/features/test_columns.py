"""FeatureReader.columns: the same values as ``get``, column by column, with a flag per value
read; unreadable values are missing and logged once per read."""

from __future__ import annotations

import logging

import msgpack
import pytest

from features.serving import served_values
from store.feature_generations import Generation, control_key, generation_prefix
from store.feature_store import serving_key
from tests.unit.features.test_reader import NOW, Stores, click

PRODUCT_FEATURES = [
    "product_attributes.category_id",
    "product_stats.orders_7d",
    "product_stats.clicks_1h",
]


@pytest.fixture
def stores() -> Stores:
    return Stores()


async def test_columns_hold_what_get_answers(stores: Stores) -> None:
    await stores.put("product", ["p1"], "product_stats", {"orders_7d": 7, "clicks_1h": 3})
    await stores.put("product", ["p1"], "product_attributes", {"category_id": "c1"})
    await stores.put("product", ["p3"], "product_attributes", {"category_id": "c3"})
    await stores.put("product", ["old"], "product_stats", {"orders_7d": 9}, fingerprint="other")
    key = serving_key("isf", "product", ("junk",), "product_stats")
    await stores.features.write_values({key: b"\x00not msgpack"})
    ids = ["p1", "p2", "p3", "old", "junk"]
    rows = await stores.reader.get("product", ids, PRODUCT_FEATURES)
    found = await stores.reader.columns("product", ids, PRODUCT_FEATURES)
    assert [list(column) for column in found.values] == [
        [row[n].value for row in rows] for n in range(len(PRODUCT_FEATURES))
    ]
    assert found.present == [
        [row[n].status != "missing" for row in rows] for n in range(len(PRODUCT_FEATURES))
    ]
    assert found.values[1] == (7, 0, 0, 0, 0)  # defaults where there is no value
    assert found.present[0] == [True, False, True, False, False]
    assert found.present[1] is found.present[2]  # one flag list per group
    # one read of the generation pointer (cached), one for get, one for columns
    assert len(stores.features.reads) == 3


async def test_composite_ids_and_last_n(stores: Stores) -> None:
    await stores.put("user_category", ["u1", "c1"], "user_category_affinity", {"clicks_7d": 4})
    found = await stores.reader.columns(
        "user_category", [("u1", "c1"), ("u1", "c2")], ["user_category_affinity.clicks_7d"]
    )
    assert list(found.values[0]) == [4, 0]
    assert found.present == [[True, False]]
    await stores.cold.write_many([click("u1", "p9", NOW - 5), click("u2", "p8", NOW - 9)])
    features = ["user_activity.recent_clicked_products", "user_activity.clicks_1h"]
    rows = await stores.reader.get("user", ["u1", "u2", "u3"], features)
    found = await stores.reader.columns("user", ["u1", "u2", "u3"], features)
    assert list(found.values[0]) == [row[0].value for row in rows]
    assert found.present[0] == [row[0].status != "missing" for row in rows]


def test_served_values_sets_aside_other_layouts_and_counts_the_unreadable() -> None:
    good = msgpack.packb([1, "fp", 1, 1, None, [1, 2]])
    other_definitions = msgpack.packb([1, "old", 1, 1, None, [1, 2]])
    wrong_width = msgpack.packb([1, "fp", 1, 1, None, [1]])
    found, unreadable = served_values(
        [good, None, other_definitions, wrong_width, b"\xc1"], "fp", 2
    )
    assert found == [(1, 2), None, None, None, None]
    assert unreadable == 2  # the wrong width and the bytes that are not msgpack


def test_served_values_answer_alike_when_the_bytes_were_seen_before() -> None:
    """Remembered by their bytes: a second read gives the same answers, counts the unreadable
    again (they are never remembered), and a group's other width or fingerprint is its own."""
    good = msgpack.packb([1, "fp2", 1, 1, None, [3, 4]])
    other_definitions = msgpack.packb([1, "old", 1, 1, None, [3, 4]])
    raws = [good, other_definitions, b"\xc1", None, good]
    first = served_values(raws, "fp2", 2)
    assert first == ([(3, 4), None, None, None, (3, 4)], 1)
    assert served_values(raws, "fp2", 2) == first
    assert served_values([good], "fp2", 3) == ([None], 1)  # another width: unreadable there
    assert served_values([good], "old", 2) == ([None], 0)  # other definitions


async def test_an_unreadable_value_is_logged(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    key = serving_key("isf", "product", ("junk",), "product_stats")
    await stores.features.write_values({key: b"\xc1"})
    with caplog.at_level(logging.WARNING, "interstore.features"):
        found = await stores.reader.columns("product", ["junk"], ["product_stats.orders_7d"])
    assert found.present == [[False]]
    assert "1 unreadable serving value(s) of group product_stats" in caplog.text


async def test_columns_read_the_current_generation(stores: Stores) -> None:
    """After a rebuild switched generations, a matrix reads the new generation's values (as
    ``get`` does), not the configured prefix's."""
    key = serving_key("isf", "product", ("p1",), "product_stats")
    await stores.put("product", ["p1"], "product_stats", {"orders_7d": 1})
    raw = await stores.features.read_values([key])
    moved = serving_key(generation_prefix("isf", 2), "product", ("p1",), "product_stats")
    await stores.features.write_values(
        {moved: raw[0] or b"", control_key("isf", "current"): Generation(2, "d").encode().encode()}
    )
    await stores.features.write_values({key: b"\xc1"})  # the old generation: unreadable now
    [found, other] = await stores.reader.columns_many(
        [("product", ["p1"], ["product_stats.orders_7d"]), ("user", ["u1"], PRODUCT_FEATURES[:0])]
    )
    assert list(found.values[0]) == [1]
    assert other.values == []
