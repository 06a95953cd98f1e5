"""The matrix: values through a derived chain, de-duplication, micro-batches, deadlines,
missing entities and a source that is down."""

from __future__ import annotations

import pytest
import yaml

from models.catalogue_view import CatalogueView
from models.loader import Model, parse_model
from models.matrix import MatrixBuilder
from tests.unit.models.conftest import FakeSource, SourceDown
from tests.unit.models.test_graph import BASE


def model(view: CatalogueView, **changes: object) -> Model:
    return parse_model("m1", yaml.safe_dump({**BASE, **changes}).encode(), view, "m1.yaml")


def seed(source: FakeSource, products: int, categories: int) -> None:
    source.values[("user", "u1")] = {"user_activity.clicks_1h": 7}
    for n in range(products):
        category = f"c{n % categories}"
        source.values[("product", f"p{n}")] = {
            "product_stats.clicks_1h": n,
            "product_attributes.category_id": category,
        }
    for n in range(categories):
        source.values[("category", f"c{n}")] = {"category_stats.clicks_24h": 100 + n}
        source.values[("user_category", ("u1", f"c{n}"))] = {
            "user_category_affinity.clicks_7d": 10 + n
        }


async def build(source: FakeSource, m: Model, candidates: list[str], deadline_s: float = 1.0):  # type: ignore[no-untyped-def]
    return await MatrixBuilder(source).build(
        m.plan, {"user_id": "u1"}, candidates, micro_batch=m.spec.micro_batch, deadline_s=deadline_s
    )


async def test_rows_follow_the_derived_chain_in_candidate_order(
    source: FakeSource, view: CatalogueView
) -> None:
    seed(source, products=4, categories=2)
    found = await build(source, model(view), ["p3", "p0", "p1"])
    assert found.columns == [
        "user.user_activity.clicks_1h",
        "product.product_stats.clicks_1h",
        "category.category_stats.clicks_24h",
        "user_category.user_category_affinity.clicks_7d",
    ]
    assert found.rows == [[7, 3, 101, 11], [7, 0, 100, 10], [7, 1, 101, 11]]
    assert found.row_status == ["ok", "ok", "ok"]
    assert not found.partial


async def test_each_distinct_key_is_read_once_per_micro_batch(
    source: FakeSource, view: CatalogueView
) -> None:
    seed(source, products=40, categories=3)
    candidates = [f"p{n}" for n in range(40)] + ["p0", "p1"]  # repeats too
    found = await build(source, model(view, micro_batch=1000), candidates)
    by_entity = dict(source.calls)
    assert len(source.calls) == 4  # one read per entity kind, levels: user | product | 2
    assert len(by_entity["product"]) == 40
    assert sorted(by_entity["user_category"]) == [("u1", "c0"), ("u1", "c1"), ("u1", "c2")]
    assert found.stats.keys_requested == 1 + 42 * 3
    assert found.stats.keys_read == 1 + 40 + 3 + 3


async def test_micro_batches_read_the_context_once(source: FakeSource, view: CatalogueView) -> None:
    seed(source, products=10, categories=2)
    found = await build(source, model(view, micro_batch=3), [f"p{n}" for n in range(10)])
    entities = [entity for entity, _ in source.calls]
    assert entities.count("user") == 1
    assert entities.count("product") == 4
    assert found.micro_batches == 4
    assert [row[1] for row in found.rows] == list(range(10))


async def test_a_micro_batch_past_the_deadline_gets_defaults_and_timeout(
    source: FakeSource, view: CatalogueView
) -> None:
    seed(source, products=4, categories=2)
    source.delay_s["user_category"] = 0.5
    found = await build(source, model(view), ["p0", "p1"], deadline_s=0.05)
    assert found.partial
    assert found.row_status == ["timeout", "timeout"]
    assert found.rows == [[7, 0, 0, -1], [7, 0, 0, -1]]  # the context's values, else defaults
    assert found.timed_out_batches == 1


async def test_a_context_past_the_deadline_times_out_every_row(
    source: FakeSource, view: CatalogueView
) -> None:
    seed(source, products=2, categories=1)
    source.delay_s["user"] = 0.5
    found = await build(source, model(view), ["p0", "p1"], deadline_s=0.05)
    assert found.partial
    assert found.row_status == ["timeout", "timeout"]
    assert [row[0] for row in found.rows] == [0, 0]
    assert [row[1] for row in found.rows] == [0, 1]  # the candidates' own values were read


async def test_an_unknown_candidate_is_missing_with_defaults(
    source: FakeSource, view: CatalogueView
) -> None:
    seed(source, products=1, categories=1)
    found = await build(source, model(view), ["p0", "nope"])
    assert found.row_status == ["ok", "missing"]
    assert found.rows[1] == [7, 0, 0, -1]  # no category: category columns default
    assert not found.partial


async def test_a_source_that_is_down_fails_the_matrix(
    source: FakeSource, view: CatalogueView
) -> None:
    source.down = True
    with pytest.raises(SourceDown):
        await build(source, model(view), ["p0"])


async def test_a_context_derived_key_feeds_the_micro_batches(
    source: FakeSource, view: CatalogueView
) -> None:
    seed(source, products=2, categories=2)
    source.values[("user", "u1")]["user_prefs.favourite_category"] = "c1"
    m = model(
        view,
        derived={"category_id": "user.user_prefs.favourite_category"},
        columns=[
            "product.product_stats.clicks_1h",
            "user_category.user_category_affinity.clicks_7d",
        ],
    )
    found = await build(source, m, ["p0", "p1"])
    assert found.rows == [[0, 11], [1, 11]]
