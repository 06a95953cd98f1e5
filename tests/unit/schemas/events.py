"""Sample events shared by the schema tests (a module, not fixtures: plain data)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

NOW_MS = 1_750_000_000_000  # 2025-06-15T15:06:40Z: a fixed "now" keeps every test deterministic

SAMPLES: dict[str, dict[str, Any]] = {
    "click": {
        "event_id": "evt-click-1",
        "user_id": "user-1",
        "ts": NOW_MS - 1_000,
        "product_id": "prod-1",
        "category_id": "cat-1",
        "surface": "search",
        "position": 3,
    },
    "order": {
        "event_id": "evt-order-1",
        "user_id": "user-1",
        "ts": NOW_MS - 2_000,
        "product_id": "prod-1",
        "category_id": "cat-1",
        "order_id": "order-1",
        "quantity": 2,
        "price": Decimal("19.9900"),
        "currency": "EUR",
    },
    "wishlist": {
        "event_id": "evt-wish-1",
        "user_id": "user-1",
        "ts": NOW_MS - 3_000,
        "product_id": "prod-2",
        "category_id": "cat-2",
        "action": "REMOVE",
    },
    "app_open": {
        "event_id": "evt-open-1",
        "user_id": "user-1",
        "ts": NOW_MS - 4_000,
        "app_version": "5.2.0",
        "platform": "android",
    },
}


def sample(kind: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample of ``kind`` with some fields changed."""
    return {**SAMPLES[kind], **changes}
