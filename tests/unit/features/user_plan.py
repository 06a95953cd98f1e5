"""The contract's example group (user_activity) and a product group, as specs, for unit tests."""

from __future__ import annotations

from features.plan import EntityPlan, FeatureSpec, GroupSpec, compile_plans
from features.tiles import DAY_MS, HOUR_MS

CLICK = frozenset({"click"})
ORDER = frozenset({"order"})

USER_ACTIVITY = GroupSpec(
    "user_activity",
    "user",
    (
        FeatureSpec("clicks_1h", "count", 0, CLICK, HOUR_MS),
        FeatureSpec("orders_7d", "count", 0, ORDER, 7 * DAY_MS),
        FeatureSpec("clicks_7d", "count", 0, CLICK, 7 * DAY_MS),
        FeatureSpec("order_value_30d", "sum", 0.0, ORDER, 30 * DAY_MS, ("quantity", "price")),
        FeatureSpec(
            "orders_per_click_7d", "ratio", 0.0, numerator="orders_7d", denominator="clicks_7d"
        ),
        FeatureSpec("last_order_at", "last_time", None, ORDER),
        FeatureSpec("categories_clicked_24h", "distinct", 0, CLICK, DAY_MS, field="category_id"),
        FeatureSpec("recent_clicked_products", "last_n", [], CLICK, field="product_id"),
    ),
)
PRODUCT_ATTRIBUTES = GroupSpec(
    "product_attributes",
    "product",
    (
        FeatureSpec("category_id", "attribute", None, field="category_id"),
        FeatureSpec("clicks_5m", "count", 0, CLICK, 5 * 60_000),
    ),
)
ENTITIES = {"user": ("user_id",), "product": ("product_id",)}


def plans() -> dict[str, EntityPlan]:
    return compile_plans(ENTITIES, [USER_ACTIVITY, PRODUCT_ATTRIBUTES])
