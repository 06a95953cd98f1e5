"""The hot-store contract, part one: hydration, appends, reads (``HotStoreContract``)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from store.buckets import DAY_MS
from store.cold import newest_first_key
from store.hot import HotStore, HotStoreError, Hydration
from tests.hot_contract_support import (
    AT,
    NOW_MS,
    P,
    by_id,
    dirty_of,
    hot,
    hydrate,
    recent_ids,
    replace_user,
)
from tests.store_contract import HOUR_MS, click, ids, order, wishlist


class HotSessionsContract:
    async def test_hydrate_then_recent(self, hot_store: HotStore) -> None:
        history = [
            wishlist("w1", NOW_MS - 3_000),
            click("c1", NOW_MS - 1_000),
            click("c2", NOW_MS - 10 * DAY_MS),
            order("o1", NOW_MS - 2_000, price=Decimal("1234567.0500")),
        ]
        assert await hot_store.recent("user-1") is None
        await hydrate(hot_store, "user-1", history, partition=P, now_ms=NOW_MS)
        found = await hot_store.recent("user-1")
        assert found is not None
        assert ids(found) == ["c1", "o1", "w1", "c2"]
        assert by_id(found) == by_id(history)
        assert str(found[1].price) == "1234567.0500"
        assert await dirty_of(hot_store, "user-1") == []  # hydrated: already cold
        await hydrate(hot_store, "user-2", [], partition=P, now_ms=NOW_MS)
        assert await hot_store.recent("user-2") == []

    async def test_hydrating_cold_rows_is_hydrating_their_interactions(
        self, hot_store: HotStore
    ) -> None:
        history = [
            click("c1", NOW_MS - 1_000),
            order("o1", NOW_MS - 2_000, price=Decimal("1234567.0500")),
            wishlist("w1", NOW_MS - 3_000),
        ]
        rows = {item.kind: [item.row()] for item in history}
        await hot_store.hydrate_many([Hydration("user-1", rows, P)], now_ms=NOW_MS)
        await hydrate(hot_store, "user-2", [replace_user(i, "user-2") for i in history], **AT)
        found = await hot_store.recent("user-1")
        assert found == history
        assert [replace_user(i, "user-1") for i in await hot_store.recent("user-2") or []] == found
        assert await dirty_of(hot_store, "user-1") == []
        with pytest.raises(ValueError, match="app_open"):
            await hot_store.hydrate_many([Hydration("user-3", {"app_open": []}, P)], now_ms=NOW_MS)

    async def test_hydrate_many_hydrates_each_user(self, hot_store: HotStore) -> None:
        alice, bob = click("a1", NOW_MS - 1, "alice"), order("b1", NOW_MS - 2, "bob")
        await hot_store.hydrate_many(
            [
                Hydration("alice", {"click": [alice.row()]}, P),
                Hydration("bob", {"order": [bob.row()], "click": []}, P + 1),
                Hydration("carol", {}, P),
            ],
            now_ms=NOW_MS,
        )
        assert await hot_store.live_users(["alice", "bob", "carol", "dave"]) == {
            "alice", "bob", "carol"
        }  # fmt: skip
        assert await hot_store.recent("alice") == [alice]
        assert await hot_store.recent("bob") == [bob]
        assert await hot_store.sessions_of([P, P + 1]) == {P: ["alice", "carol"], P + 1: ["bob"]}
        await hot_store.hydrate_many([], now_ms=NOW_MS)

    async def test_hydrate_keeps_the_newest_n_per_kind(self, hot_store: HotStore) -> None:
        clicks = [click(f"c{i}", NOW_MS - i * HOUR_MS) for i in range(8)]
        orders = [order(f"o{i}", NOW_MS - i * DAY_MS) for i in range(2)]
        await hydrate(hot_store, "user-1", clicks[::-1] + orders, partition=P, now_ms=NOW_MS)
        found = await recent_ids(hot_store, "user-1", limit=100)
        assert found == ["c0", "o0", "c1", "c2", "c3", "c4", "o1"]
        assert await recent_ids(hot_store, "user-1", kinds=["click"], limit=2) == ["c0", "c1"]
        assert await hot_store.recent("user-1", limit=0) == []

    async def test_hydrate_is_idempotent(self, hot_store: HotStore) -> None:
        history = [click("c1", NOW_MS - 1), order("o1", NOW_MS - 2)]
        await hydrate(hot_store, "user-1", history, partition=P, now_ms=NOW_MS)
        await hot_store.append([hot(click("c2", NOW_MS), 10)], now_ms=NOW_MS + 1)
        await hydrate(hot_store, "user-1", history, partition=P, now_ms=NOW_MS + 500_000)
        assert await recent_ids(hot_store, "user-1") == ["c2", "c1", "o1"]
        assert ids(await dirty_of(hot_store, "user-1")) == ["c2"]
        old = await hot_store.sessions_to_flush(
            P, idle_before_ms=0, started_before_ms=NOW_MS + 1, limit=10
        )
        assert old == ["user-1"]  # the start time of the first hydration stays

    async def test_hydrate_refuses_foreign_interactions(self, hot_store: HotStore) -> None:
        with pytest.raises(ValueError, match="of user 'bob'"):
            await hydrate(hot_store, "alice", [click("c1", NOW_MS, "bob")], partition=P, now_ms=1)
        bad = dataclasses.replace(click("x1", NOW_MS, "alice"), kind="app_open")
        with pytest.raises(ValueError, match="kind 'app_open'"):
            await hot_store.append([hot(bad, 1)], now_ms=NOW_MS)
        assert await hot_store.live_users(["alice"]) == set()

    async def test_append_only_to_live_users(self, hot_store: HotStore) -> None:
        await hydrate(hot_store, "alice", [], partition=P, now_ms=NOW_MS)
        batch = [hot(click("b1", NOW_MS, "bob"), 1), hot(click("a1", NOW_MS, "alice"), 2)]
        batch.append(hot(order("b2", NOW_MS, "bob"), 3))
        assert await hot_store.append(batch, now_ms=NOW_MS) == [batch[0], batch[2]]
        assert await hot_store.live_users(["alice", "bob"]) == {"alice"}
        assert await recent_ids(hot_store, "alice") == ["a1"]
        assert await dirty_of(hot_store, "bob") == []

    async def test_append_is_idempotent(self, hot_store: HotStore) -> None:
        await hydrate(hot_store, "user-1", [click("c1", NOW_MS - 5)], partition=P, now_ms=NOW_MS)
        batch = [hot(click("c1", NOW_MS - 5), 7), hot(order("o1", NOW_MS - 1), 8)]
        await hot_store.append(batch + batch, now_ms=NOW_MS)
        await hot_store.append([hot(order("o1", NOW_MS - 1), 4)], now_ms=NOW_MS)  # a replay
        await hot_store.append(batch, now_ms=NOW_MS)
        assert await recent_ids(hot_store, "user-1") == ["o1", "c1"]
        assert by_id(await dirty_of(hot_store, "user-1")) == [item.interaction for item in batch]
        await hot_store.set_sentinel(P)
        assert await hot_store.min_dirty_offsets([P]) == {P: 4}

    async def test_view_is_bounded_dirty_keeps_everything(self, hot_store: HotStore) -> None:
        await hydrate(hot_store, "user-1", [], partition=P, now_ms=NOW_MS)
        clicks = [click(f"c{i}", NOW_MS - i) for i in range(8)]
        await hot_store.append([hot(item, 100 + i) for i, item in enumerate(clicks)], now_ms=1)
        older = click("c-old", NOW_MS - DAY_MS)  # older than the view's newest five
        await hot_store.append([hot(older, 200)], now_ms=2)
        assert await recent_ids(hot_store, "user-1") == [f"c{i}" for i in range(5)]
        assert await dirty_of(hot_store, "user-1") == [*clicks, older]  # in offset order

    async def test_recent_many_and_live_users(self, hot_store: HotStore) -> None:
        for user in ("u1", "u2"):
            await hydrate(
                hot_store, user, [click(f"{user}-c", NOW_MS, user)], partition=P, now_ms=1
            )
        await hot_store.append([hot(order("u2-o", NOW_MS + 1, "u2"), 1)], now_ms=2)
        assert await hot_store.live_users(["u1", "u2", "u3"]) == {"u1", "u2"}
        found = await hot_store.recent_many(["u1", "u2", "u3", "u1"], limit=1)
        assert {user: ids(items) for user, items in found.items()} == {
            "u1": ["u1-c"],
            "u2": ["u2-o"],
        }
        assert await hot_store.recent_many([]) == {}

    async def test_recent_has_the_cold_store_read_semantics(self, hot_store: HotStore) -> None:
        items = [click(f"c{h}", NOW_MS - h * HOUR_MS) for h in range(3)]
        items += [click("b", NOW_MS), click("a", NOW_MS), order("far", NOW_MS + 2 * DAY_MS)]
        items.append(wishlist("w", NOW_MS - 3 * HOUR_MS))
        await hydrate(hot_store, "user-1", items, partition=P, now_ms=NOW_MS)
        read = partial(recent_ids, hot_store, "user-1")
        since = NOW_MS - 2 * HOUR_MS
        assert await read(since_ms=since) == ["a", "b", "c0", "c1", "c2"]  # inclusive; ties by id
        kinds = ("wishlist", "order", "wishlist")
        assert await read(kinds=kinds) == ["w"]  # an order two days ahead is not served yet
        assert await read(kinds=["order"], now_ms=NOW_MS + 2 * DAY_MS) == ["far"]
        c2_past_retention = NOW_MS + 90 * DAY_MS - 2 * HOUR_MS  # click retention: 90 days
        assert await read(kinds=["click"], now_ms=c2_past_retention) == ["a", "b", "c0", "c1"]
        with pytest.raises(ValueError, match="unknown interaction kinds"):
            await hot_store.recent("user-1", kinds=["app_open"])
        with pytest.raises(ValueError, match="limit"):
            await hot_store.recent_many(["user-1"], limit=-1)

    async def test_recent_merges_kinds_newest_first_ties_by_event_id_then_kind(
        self, hot_store: HotStore
    ) -> None:
        items = [click(f"c{n}", NOW_MS - n * 10) for n in range(6)]
        items += [order(f"o{n}", NOW_MS - n * 15) for n in range(4)]
        items += [wishlist("c0", NOW_MS), wishlist("b", NOW_MS), order("c0", NOW_MS)]
        await hydrate(hot_store, "user-1", items, partition=P, now_ms=NOW_MS)
        order_key = newest_first_key
        kept = [  # the views hold the newest last_n_per_kind (5) of each kind
            item
            for kind in ("click", "order", "wishlist")
            for item in sorted((i for i in items if i.kind == kind), key=order_key)[:5]
        ]
        expected = sorted(kept, key=order_key)
        found = await hot_store.recent("user-1", limit=100)
        assert [(i.event_id, i.kind) for i in found or []] == [
            (i.event_id, i.kind) for i in expected]  # fmt: skip
        top = await hot_store.recent("user-1", limit=4)
        assert [(i.event_id, i.kind) for i in top or []] == [
            ("b", "wishlist"), ("c0", "click"), ("c0", "order"), ("c0", "wishlist")]  # fmt: skip

    async def test_recent_json_many_is_recent_many_in_the_api_shape(
        self, hot_store: HotStore
    ) -> None:
        items = [click("c", NOW_MS - 3), order("o", NOW_MS - 2), wishlist("w", NOW_MS - 1)]
        items.append(order("free", NOW_MS - 4, price=None, currency=None))
        await hydrate(hot_store, "user-1", items, partition=P, now_ms=NOW_MS)
        await hydrate(hot_store, "user-2", [], partition=P, now_ms=NOW_MS)
        read: dict[str, Any] = {"kinds": ("order", "click", "wishlist"), "limit": 3}
        as_json = await hot_store.recent_json_many(["user-1", "user-2", "u3"], **read)
        found = await hot_store.recent_many(["user-1", "user-2", "u3"], **read)
        assert as_json == {u: [i.to_json() for i in items] for u, items in found.items()}
        assert [list(row) for row in as_json["user-1"]] == [  # the same key order too
            list(item.to_json()) for item in found["user-1"]]  # fmt: skip
        assert list(as_json) == ["user-1", "user-2"]
        assert as_json["user-1"][1]["price"] == "19.9900"
        assert as_json["user-2"] == []

    async def test_unicode_ids_and_kind_fields(self, hot_store: HotStore) -> None:
        user = "ユーザー-ü-🛒"
        written = [
            order("évènement-📦", NOW_MS - 1, user, price=Decimal("0.01"), currency=None),
            dataclasses.replace(click("c\x00nul", NOW_MS - 2, user), product_id="カテゴリ"),
            wishlist('w"quoted\\', NOW_MS - 3, user, action="REMOVE"),
            click("c-none", NOW_MS - 4, user, surface=None, position=None),
        ]
        await hydrate(hot_store, user, written[:2], partition=P, now_ms=NOW_MS)
        await hot_store.append([hot(item, 1) for item in written[2:]], now_ms=NOW_MS)
        assert await hot_store.recent(user) == written
        assert await hot_store.recent("ユーザー") is None

    async def test_closed_store_refuses(self, hot_store: HotStore) -> None:
        await hot_store.close()
        with pytest.raises(HotStoreError, match="closed"):
            await hot_store.live_users(["user-1"])
