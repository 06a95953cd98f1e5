"""Deterministic demo traffic: sessions of clicks, wishlist changes and orders per user.

Shaped like app traffic, so benchmarks and the demo exercise what production would:

- a few users are much more active than most (Zipf-like weights), products likewise;
- every session starts with an ``app_open``; a session ends after a random number of
  interactions or after ``session_gap_ms`` without events, and the user's next event opens anew;
- interactions follow ``kinds_mix`` (mostly clicks); orders and wishlist adds favour products the
  user clicked recently, and a wishlist remove only removes what the user added;
- time moves forward by random gaps from ``start_ms``, so each user's events are in ts order.

Everything comes from one ``random.Random(seed)``: the same arguments give the same events,
event ids (UUIDs drawn from that generator) included.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from typing import Any

from schemas.kinds import INTERACTION_KINDS

Record = dict[str, Any]

DEFAULT_MIX: Mapping[str, float] = {"click": 0.85, "wishlist": 0.10, "order": 0.05}
SURFACES = ("home_feed", "search", "pdp_recs", "category_page", "cart_recs")
PLATFORMS = ("android", "ios", "web")
APP_VERSIONS = ("5.2.0", "5.3.1", "5.4.0")
CURRENCIES = ("INR", "EUR", "USD")
RECENT_CLICKS = 20


@dataclass(slots=True)
class _User:
    user_id: str
    platform: str
    app_version: str
    currency: str
    last_ts: int = 0
    left_in_session: int = 0
    recent: list[int] = field(default_factory=list)
    wishlist: list[int] = field(default_factory=list)


def _zipf_cum_weights(n: int, exponent: float) -> list[float]:
    return list(accumulate(1.0 / (rank + 1) ** exponent for rank in range(n)))


class _Traffic:
    """The generator's state; one instance per ``generate_events`` call."""

    def __init__(
        self,
        rng: random.Random,
        users: int,
        products: int,
        categories: int,
        mix: Mapping[str, float],
    ) -> None:
        self.rng = rng
        self.categories = categories
        self.user_weights = _zipf_cum_weights(users, 0.8)
        self.product_weights = _zipf_cum_weights(products, 0.9)
        self.kinds = list(mix)
        self.kind_weights = list(accumulate(mix.values()))
        self.users: dict[int, _User] = {}

    def user(self) -> _User:
        index = self.rng.choices(range(len(self.user_weights)), cum_weights=self.user_weights)[0]
        found = self.users.get(index)
        if found is None:
            found = self.users[index] = _User(
                f"user-{index:07d}",
                self.rng.choice(PLATFORMS),
                self.rng.choice(APP_VERSIONS),
                self.rng.choice(CURRENCIES),
            )
        return found

    def event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def product(self, user: _User, prefer: Sequence[int] = ()) -> int:
        if prefer and self.rng.random() < 0.8:
            return self.rng.choice(prefer)
        return self.rng.choices(range(len(self.product_weights)), cum_weights=self.product_weights)[
            0
        ]

    def base(self, user: _User, ts: int, product: int) -> Record:
        # A product's category and price are functions of the product: the same on every event.
        category = (product * 2_654_435_761) % self.categories
        return {
            "event_id": self.event_id(),
            "user_id": user.user_id,
            "ts": ts,
            "product_id": f"prod-{product:07d}",
            "category_id": f"cat-{category:04d}",
        }

    def app_open(self, user: _User, ts: int, mean_session: int) -> tuple[str, Record]:
        user.left_in_session = 1 + int(self.rng.expovariate(1 / mean_session))
        record = {
            "event_id": self.event_id(),
            "user_id": user.user_id,
            "ts": ts,
            "app_version": user.app_version,
            "platform": user.platform,
        }
        return "app_open", record

    def interaction(self, user: _User, ts: int) -> tuple[str, Record]:
        user.left_in_session -= 1
        kind = self.rng.choices(self.kinds, cum_weights=self.kind_weights)[0]
        if kind == "order":
            product = self.product(user, user.recent)
            record = self.base(user, ts, product)
            record["order_id"] = f"order-{self.rng.getrandbits(48):012x}"
            record["quantity"] = self.rng.choices((1, 2, 3), (0.8, 0.15, 0.05))[0]
            record["price"] = Decimal(99 + (product * 7_919) % 499_900).scaleb(-2)
            record["currency"] = user.currency
            return kind, record
        if kind == "wishlist":
            if user.wishlist and self.rng.random() < 0.3:
                product = user.wishlist.pop(self.rng.randrange(len(user.wishlist)))
                return kind, {**self.base(user, ts, product), "action": "REMOVE"}
            product = self.product(user, user.recent)
            if product not in user.wishlist:
                user.wishlist.append(product)
            return kind, {**self.base(user, ts, product), "action": "ADD"}
        product = self.product(user)
        user.recent.append(product)
        del user.recent[:-RECENT_CLICKS]
        record = self.base(user, ts, product)
        record["surface"] = self.rng.choice(SURFACES)
        record["position"] = min(int(self.rng.expovariate(1 / 6)), 99)
        return kind, record


def generate_events(
    users: int,
    count: int,
    seed: int,
    start_ms: int,
    kinds_mix: Mapping[str, float] = DEFAULT_MIX,
    *,
    products: int = 10_000,
    categories: int = 200,
    mean_gap_ms: float = 10.0,
    mean_session: int = 12,
    session_gap_ms: int = 30 * 60_000,
) -> Iterator[tuple[str, Record]]:
    """``count`` events as ``(kind, record)``, app_opens included, deterministic in ``seed``.

    ``kinds_mix`` weighs the interaction kinds (app_opens come from sessions, not the mix).
    Timestamps start at ``start_ms`` and grow by ``mean_gap_ms`` on average per event.
    """
    unknown = set(kinds_mix) - set(INTERACTION_KINDS)
    if unknown or not kinds_mix or any(weight < 0 for weight in kinds_mix.values()):
        raise ValueError(f"kinds_mix weighs {sorted(INTERACTION_KINDS)} only, got {kinds_mix}")
    if users < 1 or products < 1 or categories < 1 or count < 0:
        raise ValueError("users, products and categories must be positive, count not negative")
    rng = random.Random(seed)
    traffic = _Traffic(rng, users, products, categories, kinds_mix)
    ts = start_ms
    for _ in range(count):
        ts += int(rng.expovariate(1 / mean_gap_ms))
        user = traffic.user()
        idle = ts - user.last_ts > session_gap_ms
        user.last_ts = ts
        if user.left_in_session <= 0 or idle:
            yield traffic.app_open(user, ts, mean_session)
        else:
            yield traffic.interaction(user, ts)
