"""The cold-store contract, run against every ColdStore (Feast's "universal" suite style).

A test module subclasses ``ColdStoreContract`` and provides two fixtures: ``clock``, a fresh
``FakeClock``, and ``cold_store``, a fresh, empty store reading that clock.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from core.settings import RetentionSettings
from store.buckets import DAY_MS
from store.cold import ColdStore
from store.errors import ColdWriteError
from store.interactions import Interaction

NOW_MS = 1_750_000_000_000  # 2025-06-15T15:06:40Z
HOUR_MS = 3_600_000
RETENTION = RetentionSettings(click_days=90, wishlist_days=180, order_days=365)


class FakeClock:
    """A settable clock; the store reads it for TTLs and for reads without ``now_ms``."""

    def __init__(self, now_ms: int = NOW_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def click(event_id: str, ts_ms: int, user_id: str = "user-1", **changes: Any) -> Interaction:
    fields: dict[str, Any] = {"surface": "search", "position": 3, **changes}
    return Interaction("click", event_id, user_id, "prod-1", "cat-1", ts_ms, **fields)


def order(event_id: str, ts_ms: int, user_id: str = "user-1", **changes: Any) -> Interaction:
    fields: dict[str, Any] = {"order_id": "order-1", "quantity": 2, "currency": "EUR", **changes}
    fields.setdefault("price", Decimal("19.9900"))
    return Interaction("order", event_id, user_id, "prod-1", "cat-1", ts_ms, **fields)


def wishlist(event_id: str, ts_ms: int, user_id: str = "user-1", **changes: Any) -> Interaction:
    fields: dict[str, Any] = {"action": "ADD", **changes}
    return Interaction("wishlist", event_id, user_id, "prod-2", "cat-2", ts_ms, **fields)


def ids(items: list[Interaction]) -> list[str]:
    return [item.event_id for item in items]


class ColdStoreContract:
    async def test_newest_first_across_kinds(self, cold_store: ColdStore) -> None:
        written = [
            wishlist("w1", NOW_MS - 3_000),
            click("c1", NOW_MS - 1_000),
            click("c2", NOW_MS - 10 * DAY_MS),
            order("o1", NOW_MS - 2_000),
        ]
        await cold_store.write_many(written)
        found = await cold_store.recent("user-1")
        assert ids(found) == ["c1", "o1", "w1", "c2"]
        assert sorted(found, key=lambda i: i.event_id) == sorted(written, key=lambda i: i.event_id)

    async def test_equal_times_in_event_id_order(self, cold_store: ColdStore) -> None:
        await cold_store.write_many([click("b", NOW_MS), click("a", NOW_MS), click("c", NOW_MS)])
        assert ids(await cold_store.recent("user-1")) == ["a", "b", "c"]

    async def test_limit_keeps_the_newest(self, cold_store: ColdStore) -> None:
        clicks = [click(f"c{day:02}", NOW_MS - day * DAY_MS) for day in range(60)]
        orders = [order(f"o{day:02}", NOW_MS - day * DAY_MS - 1) for day in range(0, 60, 10)]
        await cold_store.write_many(clicks + orders)
        assert ids(await cold_store.recent("user-1", limit=3)) == ["c00", "o00", "c01"]
        newest_50 = await cold_store.recent("user-1", kinds=["click"], limit=50)
        assert ids(newest_50) == [f"c{day:02}" for day in range(50)]
        assert len(await cold_store.recent("user-1", limit=1000)) == 66
        assert await cold_store.recent("user-1", limit=0) == []

    async def test_since_is_inclusive(self, cold_store: ColdStore) -> None:
        await cold_store.write_many([click(f"c{h}", NOW_MS - h * HOUR_MS) for h in range(5)])
        found = await cold_store.recent("user-1", since_ms=NOW_MS - 2 * HOUR_MS)
        assert ids(found) == ["c0", "c1", "c2"]
        assert await cold_store.recent("user-1", since_ms=NOW_MS + HOUR_MS) == []

    async def test_kinds_filter(self, cold_store: ColdStore) -> None:
        await cold_store.write_many(
            [click("c1", NOW_MS - 1), order("o1", NOW_MS - 2), wishlist("w1", NOW_MS - 3)]
        )
        assert ids(await cold_store.recent("user-1", kinds=["order"])) == ["o1"]
        found = await cold_store.recent("user-1", kinds=("wishlist", "click", "click"))
        assert ids(found) == ["c1", "w1"]
        with pytest.raises(ValueError, match="unknown interaction kinds"):
            await cold_store.recent("user-1", kinds=["app_open"])

    async def test_users_are_separate(self, cold_store: ColdStore) -> None:
        await cold_store.write_many([click("a1", NOW_MS, "alice"), click("b1", NOW_MS, "bob")])
        assert ids(await cold_store.recent("alice")) == ["a1"]
        assert await cold_store.recent("nobody") == []

    async def test_writes_are_idempotent(self, cold_store: ColdStore, clock: FakeClock) -> None:
        batch = [click("c1", NOW_MS - 1_000), order("o1", NOW_MS - 2_000)]
        await cold_store.write_many(batch + batch)
        await cold_store.write_many(batch)
        clock.now_ms += DAY_MS  # a replay a day later rewrites the same rows
        await cold_store.write_many(list(reversed(batch)))
        assert await cold_store.recent("user-1") == batch

    async def test_replay_without_a_field_keeps_it(self, cold_store: ColdStore) -> None:
        await cold_store.write_many([order("o1", NOW_MS)])
        await cold_store.write_many([order("o1", NOW_MS, currency=None, quantity=None)])
        assert await cold_store.recent("user-1") == [order("o1", NOW_MS)]

    async def test_retention_horizon(self, cold_store: ColdStore) -> None:
        old = NOW_MS - 90 * DAY_MS + HOUR_MS  # an hour left of click retention
        await cold_store.write_many([click("c-old", old), order("o-old", old)])
        assert ids(await cold_store.recent("user-1")) == ["c-old", "o-old"]
        later = await cold_store.recent("user-1", now_ms=NOW_MS + HOUR_MS)
        assert ids(later) == ["o-old"]
        assert ids(await cold_store.recent("user-1", now_ms=NOW_MS + HOUR_MS - 1)) == [
            "c-old",
            "o-old",
        ]

    async def test_write_past_retention_is_skipped(self, cold_store: ColdStore) -> None:
        past = NOW_MS - 90 * DAY_MS - HOUR_MS
        await cold_store.write_many([click("c-past", past), order("o-kept", past)])
        assert cold_store.skipped_past_retention == 1
        # read as of a time when the click would still be inside retention: it was never written
        earlier = await cold_store.recent("user-1", now_ms=NOW_MS - DAY_MS)
        assert ids(earlier) == ["o-kept"]

    async def test_future_events_up_to_a_day(self, cold_store: ColdStore) -> None:
        await cold_store.write_many(
            [click("soon", NOW_MS + 23 * HOUR_MS), click("far", NOW_MS + 2 * DAY_MS)]
        )
        assert ids(await cold_store.recent("user-1")) == ["soon"]
        assert ids(await cold_store.recent("user-1", now_ms=NOW_MS + 2 * DAY_MS)) == [
            "far",
            "soon",
        ]

    async def test_kind_fields_round_trip(self, cold_store: ColdStore) -> None:
        written = [
            order("o1", NOW_MS - 1, price=Decimal("1234567.0500"), quantity=7, currency="INR"),
            order("o2", NOW_MS - 2, price=Decimal("0.01"), currency=None),
            click("c1", NOW_MS - 3, surface="home", position=0),
            wishlist("w1", NOW_MS - 4, action="REMOVE"),
        ]
        await cold_store.write_many(written)
        found = await cold_store.recent("user-1")
        assert found == written
        assert [str(item.price) for item in found[:2]] == ["1234567.0500", "0.01"]
        assert found[2].to_json()["surface"] == "home"

    async def test_unicode_ids(self, cold_store: ColdStore) -> None:
        user = "ユーザー-ü-🛒"
        item = dataclasses.replace(
            click("évènement-📦", NOW_MS, user), product_id="produit-é", category_id="カテゴリ"
        )
        await cold_store.write_many([item])
        assert await cold_store.recent(user) == [item]
        assert await cold_store.recent("ユーザー") == []

    async def test_unknown_kind_fails_the_batch_up_front(self, cold_store: ColdStore) -> None:
        bad = dataclasses.replace(click("x1", NOW_MS), kind="app_open")
        with pytest.raises(ColdWriteError, match="'x1'"):
            await cold_store.write_many([click("c1", NOW_MS), bad])
        assert await cold_store.recent("user-1") == []

    async def test_recent_rows_are_the_newest_of_one_kind(self, cold_store: ColdStore) -> None:
        written = [
            order("o1", NOW_MS - 1, price=Decimal("12.5000"), quantity=2, currency="EUR"),
            *(click(f"c{n}", NOW_MS - n * DAY_MS) for n in range(12)),  # two click buckets
            click("c-tie", NOW_MS - 3 * DAY_MS),
        ]
        await cold_store.write_many(written)
        newest = await cold_store.recent("user-1", kinds=["click"], limit=5)
        rows = await cold_store.recent_rows("user-1", "click", limit=5)
        assert sorted(rows) == sorted(item.row() for item in newest)  # any order
        assert await cold_store.recent_rows("user-1", "order", limit=5) == [written[0].row()]
        assert rows[0][4:] == ("search", 3)  # (event_id, product_id, category_id, ts, *fields)
        assert await cold_store.recent_rows("user-1", "wishlist", limit=5) == []
        assert await cold_store.recent_rows("user-1", "click", limit=0) == []
        with pytest.raises(ValueError, match="unknown interaction kinds"):
            await cold_store.recent_rows("user-1", "app_open", limit=5)

    async def test_hydration_rows_are_every_kinds_recent_rows(self, cold_store: ColdStore) -> None:
        await cold_store.write_many(
            [
                *(click(f"c{n}", NOW_MS - n * DAY_MS) for n in range(12)),
                *(order(f"o{n}", NOW_MS - (200 + 40 * n) * DAY_MS) for n in range(3)),
                wishlist("w1", NOW_MS - 100 * DAY_MS),
            ]
        )
        found = await cold_store.hydration_rows("user-1", limit=5)
        for kind in ("click", "order", "wishlist"):
            rows = await cold_store.recent_rows("user-1", kind, limit=5)
            assert sorted(found[kind]) == sorted(rows)
        assert [len(found[kind]) for kind in ("click", "order", "wishlist")] == [5, 3, 1]
        assert await cold_store.hydration_rows("nobody", limit=5) == {
            "click": [],
            "order": [],
            "wishlist": [],
        }
        empty = await cold_store.hydration_rows("user-1", limit=0)
        assert empty == {"click": [], "order": [], "wishlist": []}

    async def test_empty_write(self, cold_store: ColdStore) -> None:
        await cold_store.write_many([])
        assert await cold_store.recent("user-1") == []
