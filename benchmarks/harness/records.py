"""Interaction records made to order (a user, a kind, a time), valid for the producer and the
worker: the cold history of `bench hydrate`'s users, the live users of `bench api`."""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from interstore.demo_events import SURFACES

Record = dict[str, Any]
HISTORY_MIX: Mapping[str, float] = {"click": 0.6, "wishlist": 0.2, "order": 0.2}
"""Kinds of a user's history: every kind has hundreds of 1,000 interactions."""


def interaction_record(kind: str, user: str, event_id: str, ts: int, rng: random.Random) -> Record:
    """An event record of an interaction kind, valid for the producer and the worker."""
    product = rng.randrange(5_000)
    record: Record = {
        "event_id": event_id,
        "user_id": user,
        "ts": ts,
        "product_id": f"prod-{product:07d}",
        "category_id": f"cat-{product % 200:04d}",
    }
    if kind == "click":
        record |= {"surface": rng.choice(SURFACES), "position": rng.randrange(50)}
    elif kind == "order":
        price = Decimal(99 + product * 37 % 50_000).scaleb(-2)
        record |= {
            "order_id": f"order-{rng.getrandbits(48):012x}",
            "quantity": rng.choice((1, 1, 1, 2, 3)),
            "price": price,
            "currency": "EUR",
        }
    else:
        record["action"] = "ADD" if rng.random() < 0.75 else "REMOVE"
    return record


def pick_kind(rng: random.Random, mix: Mapping[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]
