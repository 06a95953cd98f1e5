"""Model files checked against the catalogue and ordered into levels; every error names the
file and the field."""

from __future__ import annotations

import pytest
import yaml

from models.catalogue_view import CatalogueView
from models.errors import ModelConfigError
from models.loader import Model, parse_model

BASE = {
    "context": ["user_id"],
    "candidate": {"entity": "product", "key": "product_id"},
    "derived": {"category_id": "product.product_attributes.category_id"},
    "columns": [
        "user.user_activity.clicks_1h",
        "product.product_stats.clicks_1h",
        "category.category_stats.clicks_24h",
        {"feature": "user_category.user_category_affinity.clicks_7d", "default": -1},
    ],
}


def load(view: CatalogueView, **changes: object) -> Model:
    spec = {**BASE, **changes}
    return parse_model("m1", yaml.safe_dump(spec).encode(), view, "models/m1.yaml")


def levels(model: Model) -> tuple[list[list[str]], list[list[str]]]:
    plan = model.plan
    return (
        [[read.entity for read in level] for level in plan.context_levels],
        [[read.entity for read in level] for level in plan.candidate_levels],
    )


def problems(view: CatalogueView, **changes: object) -> str:
    with pytest.raises(ModelConfigError) as caught:
        load(view, **changes)
    return str(caught.value)


def test_a_derived_entity_is_read_a_level_after_the_feature_its_key_comes_from(
    view: CatalogueView,
) -> None:
    model = load(view)
    assert levels(model) == ([["user"]], [["product"], ["category", "user_category"]])
    product = model.plan.candidate_levels[0][0]
    assert product.features == ("product_stats.clicks_1h", "product_attributes.category_id")
    assert product.derives == (("category_id", 1),)
    assert model.plan.columns[3].default == -1
    assert model.plan.columns[3].override
    assert model.plan.columns[0].default == 0
    assert not model.plan.columns[0].override


def test_chains_of_any_depth(view: CatalogueView) -> None:
    model = load(
        view,
        derived={
            "brand_id": "product.product_attributes.brand_id",
            "category_id": "brand.brand_stats.parent_id",
        },
        columns=["user_category.user_category_affinity.clicks_7d", "user.user_activity.clicks_1h"],
    )
    assert levels(model) == ([["user"]], [["product"], ["brand"], ["user_category"]])


def test_a_key_derived_from_the_context_is_read_once_per_request(view: CatalogueView) -> None:
    model = load(
        view,
        derived={"category_id": "user.user_prefs.favourite_category"},
        columns=[
            "user_category.user_category_affinity.clicks_7d",
            "product.product_stats.clicks_1h",
        ],
    )
    assert levels(model) == ([["user"], ["user_category"]], [["product"]])
    assert model.plan.derived_context_keys == ("category_id",)


def test_the_version_is_the_content_hash(view: CatalogueView) -> None:
    assert load(view).version == load(view).version
    assert load(view).version != load(view, micro_batch=7).version


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"columns": ["shop.stats.clicks"]}, "columns[0]: unknown entity 'shop'"),
        (
            {"columns": ["user.user_activity.nope"]},
            "columns[0]: unknown feature 'user_activity.nope'",
        ),
        (
            {"columns": ["product.user_activity.clicks_1h"]},
            "belongs to entity 'user', not 'product'",
        ),
        ({"columns": ["clicks_1h"]}, "columns[0]: 'clicks_1h' is not entity.group.feature"),
        ({"derived": {}}, "columns[2]: entity 'category' needs key 'category_id', which neither"),
        (
            {"derived": {"category_id": "user_category.user_category_affinity.clicks_7d"}},
            "derived.category_id: cycle: key 'category_id' is needed to read the feature",
        ),
        (
            {"derived": {"category_id": "user.user_activity.recent_clicked_products"}},
            "derived.category_id: a key must come from a single value, not a last_n feature",
        ),
        ({"candidate": {"entity": "product", "key": "sku"}}, "candidate.key: 'sku' is not a key"),
        ({"micro_batch": 0}, "micro_batch: Input should be greater than or equal to 1"),
        ({"colums": []}, "colums: Extra inputs are not permitted"),
        (
            {"scorer": {"kind": "linear", "weights": {"user.user_activity.orders_30d": 1.0}}},
            "scorer.weights.user.user_activity.orders_30d: 'user.user_activity.orders_30d' is "
            "not a column",
        ),
        (
            {"scorer": {"kind": "entry_point", "entry_point": "no_such_module:score"}},
            "scorer.entry_point: cannot load no_such_module:score",
        ),
    ],
)
def test_errors_name_the_file_and_the_field(
    view: CatalogueView, changes: dict[str, object], expected: str
) -> None:
    message = problems(view, **changes)
    assert message.startswith("models/m1.yaml: ")
    assert expected in message


def test_every_problem_is_reported_at_once(view: CatalogueView) -> None:
    message = problems(view, columns=["shop.a.b", "user.user_activity.nope"])
    assert "columns[0]" in message
    assert "columns[1]" in message


def test_bad_yaml_names_the_file(view: CatalogueView) -> None:
    with pytest.raises(ModelConfigError, match=r"models/x.yaml: not valid YAML"):
        parse_model("x", b"columns: [a, b", view, "models/x.yaml")
