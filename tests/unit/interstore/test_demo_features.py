"""The demo's feature side: the freshness quantile, the live line, the ranker's table."""

from __future__ import annotations

import pytest
from rich.console import Console

from interstore.demo_features import (
    OrderedProducts,
    clicked_products,
    feature_table,
    histogram_buckets,
    live_line,
    quantile,
)

PAGE = """\
# TYPE interstore_feature_freshness_seconds histogram
interstore_feature_freshness_seconds_bucket{group="a",le="0.1"} 50.0
interstore_feature_freshness_seconds_bucket{group="a",le="0.5"} 90.0
interstore_feature_freshness_seconds_bucket{group="a",le="1.0"} 100.0
interstore_feature_freshness_seconds_bucket{group="a",le="+Inf"} 100.0
interstore_feature_freshness_seconds_count{group="a"} 100.0
interstore_feature_freshness_seconds_sum{group="a"} 20.0
interstore_feature_freshness_seconds_bucket{group="b",le="0.1"} 0.0
interstore_feature_freshness_seconds_bucket{group="b",le="0.5"} 0.0
interstore_feature_freshness_seconds_bucket{group="b",le="1.0"} 0.0
interstore_feature_freshness_seconds_bucket{group="b",le="+Inf"} 100.0
interstore_feature_freshness_seconds_count{group="b"} 100.0
interstore_feature_freshness_seconds_sum{group="b"} 20.0
"""


def test_buckets_sum_over_groups_and_the_quantile_interpolates() -> None:
    buckets = histogram_buckets(PAGE)
    assert buckets == {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 200.0}
    assert quantile(0.25, buckets) == pytest.approx(0.1)
    assert quantile(0.99, buckets) == 1.0  # in +Inf: the highest finite bound
    only_a = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 100.0}
    assert quantile(0.7, only_a) == pytest.approx(0.3)
    assert quantile(0.5, only_a, before=only_a) is None  # nothing observed since
    assert quantile(0.5, {}) is None


def test_the_live_line() -> None:
    assert live_line(None, None) == "top products by orders in 5m: n/a; freshness p99 n/a"
    assert live_line([("p1", 3), ("p2", 1)], 0.456) == (
        "top products by orders in 5m: p1 (3), p2 (1); freshness p99 0.46s"
    )
    assert live_line([], 1.0).startswith("top products by orders in 5m: no orders yet")


def test_ordered_products_keep_first_order_first() -> None:
    ordered = OrderedProducts()
    ordered.note("order", {"product_id": "p2"})
    ordered.note("click", {"product_id": "p9"})
    ordered.note("order", {"product_id": "p1"})
    ordered.note("order", {"product_id": "p2"})
    assert ordered.snapshot() == ["p2", "p1"]


def test_clicked_products_and_the_table() -> None:
    answer = {"results": [
        {"user_id": "u1", "interactions": [{"kind": "click", "product_id": "p1"},
                                           {"kind": "order", "product_id": "p7"},
                                           {"kind": "click", "product_id": "p2"}]},
        {"user_id": "u2", "interactions": [{"kind": "click", "product_id": "p1"}]},
        {"user_id": "u3", "error": {"status": 503}},
    ]}  # fmt: skip
    assert clicked_products(answer) == ["p1", "p2"]
    features = {
        "entity": "product",
        "features": ["product_stats.clicks_1h", "product_stats.conversion_24h"],
        "results": [
            {"id": "p1", "values": [3, 0.25], "statuses": ["present", "present"]},
            {"id": "p2", "values": [0, 0.0], "statuses": ["missing", "stale"]},
        ],
    }
    console = Console(width=120, record=True)
    console.print(feature_table(features))
    text = console.export_text()
    assert "clicks_1h" in text
    assert "conversion_24h" in text
    assert "0.250" in text
    assert "0 (m)" in text
    assert "0.000 (s)" in text
