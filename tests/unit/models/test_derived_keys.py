"""Derived keys remembered (``models.derived_keys``): once warm, a micro-batch reads every level
in one read of the source; the answer is always the level-by-level one, also when a derived
key changed, an id is new, or the chain is deeper."""

from __future__ import annotations

from models.catalogue_view import CatalogueView
from models.derived_keys import DerivedKeys
from models.matrix import Matrix, MatrixBuilder
from tests.unit.models.conftest import FakeSource
from tests.unit.models.test_matrix import model, seed

CONTEXT = {"user_id": "u1"}


async def _both(
    source: FakeSource, builder: MatrixBuilder, m: object, candidates: list[str]
) -> tuple[Matrix, Matrix]:
    """The remembering builder's matrix, then a plain builder's, on the same values."""
    plan, spec = m.plan, m.spec  # type: ignore[attr-defined]
    kwargs = {"micro_batch": spec.micro_batch, "deadline_s": 1.0}
    warm = await builder.build(plan, CONTEXT, candidates, **kwargs)
    cold = await MatrixBuilder(source).build(plan, CONTEXT, candidates, **kwargs)
    return warm, cold


async def test_warm_every_level_is_one_read(source: FakeSource, view: CatalogueView) -> None:
    seed(source, products=6, categories=2)
    m = model(view)
    builder = MatrixBuilder(source, DerivedKeys(1000))
    candidates = ["p0", "p1", "p2", "p3", "p0"]
    first, _ = await _both(source, builder, m, candidates)
    source.reads, source.calls = 0, []
    second, cold = await _both(source, builder, m, candidates)
    assert second.rows == cold.rows == first.rows
    assert second.row_status == cold.row_status
    assert source.reads == 2 + 3  # warm: context + one; plain: context + two levels
    assert second.stats.keys_requested == cold.stats.keys_requested
    assert second.stats.keys_read == cold.stats.keys_read  # every guess was right


async def test_a_changed_or_new_derived_key_reads_what_the_guess_missed(
    source: FakeSource, view: CatalogueView
) -> None:
    seed(source, products=6, categories=3)
    m = model(view)
    builder = MatrixBuilder(source, DerivedKeys(1000))
    await _both(source, builder, m, ["p0", "p1", "p2"])
    source.values[("product", "p0")]["product_attributes.category_id"] = "c2"  # was c0
    del source.values[("product", "p1")]["product_attributes.category_id"]  # no category now
    source.calls = []
    warm, cold = await _both(source, builder, m, ["p0", "p1", "p2", "p4"])
    assert warm.rows == cold.rows
    assert [row[2:] for row in warm.rows] == [[102, 12], [0, -1], [102, 12], [101, 11]]
    guessed = [ids for entity, ids in source.calls[:4] if entity == "user_category"]
    assert guessed == [[("u1", "c0"), ("u1", "c1"), ("u1", "c2")]]  # read with the products
    # then only the pair no guess covered; c2 was guessed (p2) and is not read again
    assert ("user_category", [("u1", "c1")]) not in source.calls[4:]
    source.reads = 0  # the changed keys were remembered: the next read is one round again
    again, cold = await _both(source, builder, m, ["p0", "p1", "p2", "p4"])
    assert again.rows == cold.rows == warm.rows
    assert source.reads == 2 + 3


async def test_a_deeper_chain_is_guessed_link_by_link(
    source: FakeSource, view: CatalogueView
) -> None:
    seed(source, products=4, categories=2)
    for n in range(4):
        source.values[("product", f"p{n}")]["product_attributes.brand_id"] = f"b{n % 2}"
    source.values[("brand", "b0")] = {"brand_stats.orders_7d": 5, "brand_stats.parent_id": "c1"}
    source.values[("brand", "b1")] = {"brand_stats.orders_7d": 6, "brand_stats.parent_id": "c0"}
    m = model(
        view,
        derived={
            "brand_id": "product.product_attributes.brand_id",
            "category_id": "brand.brand_stats.parent_id",
        },
        columns=["brand.brand_stats.orders_7d", "user_category.user_category_affinity.clicks_7d"],
    )
    builder = MatrixBuilder(source, DerivedKeys(1000))
    await _both(source, builder, m, ["p0", "p1", "p2"])
    source.reads = 0
    warm, cold = await _both(source, builder, m, ["p0", "p1", "p2", "p3"])
    assert warm.rows == cold.rows == [[5, 11], [6, 10], [5, 11], [6, 10]]
    assert source.reads == 1 + 3  # no context here; warm: one read; plain: three levels
    source.values[("brand", "b0")]["brand_stats.parent_id"] = "c0"
    warm, cold = await _both(source, builder, m, ["p0", "p1"])
    assert warm.rows == cold.rows == [[5, 10], [6, 10]]


def test_the_memory_is_bounded() -> None:
    keys = DerivedKeys(3)
    keys.remember("product", "category_id", ["p1", "p2", None], ["c1", None, "c3"])
    assert keys.guess("product", "category_id", ["p1", "p2", None]) == ["c1", None, None]
    keys.remember("product", "category_id", ["p3", "p4", "p5"], ["c", "c", "c"])
    assert len(keys) == 3  # emptied first: p1 is forgotten
    assert keys.guess("product", "category_id", ["p1"]) == [None]
