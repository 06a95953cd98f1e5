"""The demo traffic generator: deterministic, valid, and shaped like sessions."""

from __future__ import annotations

from collections import Counter

import pytest

from interstore.demo_events import generate_events
from schemas.codec import decode, encode
from schemas.validation import check_payload_size, validate

START_MS = 1_750_000_000_000


def events(seed: int = 7, count: int = 5_000, users: int = 200) -> list[tuple[str, dict]]:
    return list(generate_events(users, count, seed, START_MS))


def test_same_seed_same_events_other_seed_other_events() -> None:
    assert events(seed=7) == events(seed=7)
    other = events(seed=8)
    assert {r["event_id"] for _, r in other}.isdisjoint({r["event_id"] for _, r in events()})


def test_exact_count_and_unique_event_ids() -> None:
    generated = events()
    assert len(generated) == 5_000
    assert len({record["event_id"] for _, record in generated}) == 5_000


def test_every_event_is_valid_and_round_trips_through_the_codec() -> None:
    generated = events()
    now_ms = max(record["ts"] for _, record in generated)
    for kind, record in generated:
        validate(kind, record, now_ms=now_ms)
        data = encode(kind, record)
        check_payload_size(data)
        decoded = decode(data)
        assert (decoded.kind, decoded.record) == (kind, record)


def test_mix_is_mostly_clicks_with_app_opens_at_session_starts() -> None:
    generated = events(count=20_000)
    kinds = Counter(kind for kind, _ in generated)
    assert set(kinds) == {"click", "wishlist", "order", "app_open"}
    assert kinds["click"] > kinds["wishlist"] > kinds["order"]
    assert kinds["click"] > 0.6 * len(generated)
    first: dict[str, str] = {}
    last_ts: dict[str, int] = {}
    for kind, record in generated:
        user = record["user_id"]
        first.setdefault(user, kind)
        assert record["ts"] >= last_ts.get(user, 0)
        last_ts[user] = record["ts"]
    assert set(first.values()) == {"app_open"}


def test_wishlist_removes_only_what_the_user_added() -> None:
    wishlists: dict[str, set[str]] = {}
    for kind, record in events(count=20_000):
        if kind != "wishlist":
            continue
        items = wishlists.setdefault(record["user_id"], set())
        if record["action"] == "ADD":
            items.add(record["product_id"])
        else:
            assert record["product_id"] in items
            items.remove(record["product_id"])


def test_a_product_keeps_its_category() -> None:
    categories: dict[str, set[str]] = {}
    for kind, record in events(count=20_000):
        if kind != "app_open":
            categories.setdefault(record["product_id"], set()).add(record["category_id"])
    assert all(len(found) == 1 for found in categories.values())


def test_kinds_mix_is_honoured_and_checked() -> None:
    only_orders = Counter(kind for kind, _ in generate_events(10, 500, 1, START_MS, {"order": 1}))
    assert set(only_orders) == {"order", "app_open"}
    with pytest.raises(ValueError, match="kinds_mix"):
        list(generate_events(10, 5, 1, START_MS, {"app_open": 1.0}))
