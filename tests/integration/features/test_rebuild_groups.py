"""``interstore features rebuild --groups`` on the real stack: the named group's entities are
recomputed with a changed definition, every other group is served as before (carried over),
no reader sees a mixed generation, and under ingest every entity still counts each event once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from features.reader import FeatureReader
from store.feature_generations import generation_prefix
from tests.integration.features.conftest import (
    DEFINITIONS,
    Features,
    Record,
    expected_counts,
    traffic,
    wait_counts,
)
from tests.integration.features.test_rebuild import (
    current_prefix,
    current_view,
    reader,
    rebuild,
    users_of,
)

ADDED = "      - {name: wishlists_30d, type: count, kind: wishlist, window: 30d, default: 0}\n"
CARRIED = {  # entity -> its group and every feature of it (the test definitions)
    "user": ("u", ["clicks_1h", "clicks_7d", "orders_7d", "value_30d", "orders_per_click_7d",
                   "last_order_at", "categories_24h"]),
    "category": ("c", ["clicks_5m", "events_30d"]),
    "user_category": ("uc", ["clicks_24h", "last_click_at"]),
}  # fmt: skip
PRODUCT = ["p.category", "p.clicks_30d", "p.orders_30d", "p.buyers_24h"]


def ids_of(events: list[tuple[str, Record]]) -> dict[str, list[Any]]:
    interactions = [r for k, r in events if k != "app_open"]
    return {
        "user": users_of(events),
        "product": sorted({r["product_id"] for r in interactions}),
        "category": sorted({r["category_id"] for r in interactions}),
        "user_category": sorted({(r["user_id"], r["category_id"]) for r in interactions}),
    }


async def served(features: FeatureReader, ids: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Every carried group's values, and the product group's, per entity in id order."""
    out: dict[str, list[Any]] = {}
    for entity, (group, names) in CARRIED.items():
        rows = await features.get(entity, ids[entity], [f"{group}.{n}" for n in names])
        out[entity] = [[(v.status, v.value) for v in row] for row in rows]
    rows = await features.get("product", ids["product"], PRODUCT)
    out["product"] = [[(v.status, v.value) for v in row] for row in rows]
    return out


async def test_rebuild_of_one_changed_group_carries_the_others_over_unchanged(
    features: Features, tmp_path: Path
) -> None:
    events = traffic(2500, seed=31)
    ids = ids_of(events)
    worker, _ = await asyncio.to_thread(features.counted, events)
    worker.stop()  # it runs the old definitions: after the switch it would wait for a restart

    changed = tmp_path / "definitions.yaml"
    anchor = "      - {name: buyers_24h,"
    changed.write_text(DEFINITIONS.read_text().replace(anchor, ADDED + anchor))
    old, new = reader(features, DEFINITIONS), reader(features, changed)
    before = await served(old, ids)
    assert all(s == "present" for rows in before.values() for row in rows for s, _ in row)

    seen: list[tuple[str, ...]] = []  # the statuses of each read of group p, in order
    done = asyncio.Event()

    async def read_load() -> None:
        while not done.is_set():
            rows = await old.get("product", ids["product"], ["p.clicks_30d"])
            seen.append(tuple(sorted({v.status for row in rows for v in row})))
            await asyncio.sleep(0)

    loads = [asyncio.create_task(read_load()) for _ in range(4)]
    env = {"INTERSTORE_FEATURES_DEFINITIONS_PATH": str(changed)}
    summary = await rebuild(features, env, "--groups", "p")
    await asyncio.sleep(0.5)  # past the readers' cache time
    done.set()
    await asyncio.gather(*loads)

    print("reads:", len(seen), "rebuild:", summary)
    assert len(seen) > 20
    assert all(statuses in {("present",), ("missing",)} for statuses in seen), set(seen)
    first_new = seen.index(("missing",))  # p's fingerprint changed: the old reader misses it
    assert all(s == ("missing",) for s in seen[first_new:]), "a read went back to the old one"
    assert summary["groups"] == ["p"]
    carried = sum(len(ids[e]) for e in CARRIED)
    assert summary["carried"]["states"] == carried
    interactions = sum(k != "app_open" for k, _ in events)
    assert summary["carried"]["skipped_events"] == 3 * interactions  # user, category, u x c
    assert summary["features"]["applied"] == interactions  # the products' only

    after = await served(new, ids)
    for entity in CARRIED:  # carried over: the same values, read with the new definitions
        assert after[entity] == before[entity], entity
    assert after["product"] == before["product"]  # recomputed: the same for unchanged features
    wishlists = dict.fromkeys(ids["product"], 0)
    for kind, record in events:
        if kind == "wishlist":
            wishlists[record["product_id"]] += 1
    rows = await new.get("product", ids["product"], ["p.wishlists_30d"])
    assert [row[0].value for row in rows] == [wishlists[p] for p in ids["product"]]
    assert sum(wishlists.values()) > 0
    assert list(features.redis.scan_iter(f"{features.prefix}:*", count=1000)) == []
    for r in (old, new):
        await r.store.close()  # type: ignore[attr-defined]


async def test_rebuild_of_one_group_while_the_worker_ingests_hands_over_exactly(
    features: Features,
) -> None:
    events = traffic(6000, seed=32)
    expected = expected_counts(events)
    worker = features.start("live", INTERSTORE_FEATURES_WORKER_BATCH_MAX="200")
    features.produce(events[:2000])
    features.wait_applied(worker, 1000)
    features.wait_durable(worker)  # the rebuild carries states from the durable copy

    async def produce_during() -> None:
        for first in range(2000, 5000, 500):
            await asyncio.to_thread(features.produce, events[first : first + 500])
            await asyncio.sleep(0.5)

    producing = asyncio.create_task(produce_during())
    env = {"INTERSTORE_OPS_REBUILD_LAG_TO_PAUSE": "300"}
    summary = await rebuild(features, env, "--groups", "c")
    await producing
    print("rebuild:", summary)
    assert summary["groups"] == ["c"]
    assert summary["carried"]["states"] > 0
    features.produce(events[5000:])  # after the switch: the worker writes the new generation

    assert current_prefix(features) == generation_prefix(features.prefix, summary["generation"])
    view = current_view(features)  # users, products (carried), categories: each event once
    await asyncio.to_thread(wait_counts, view, expected, [worker])
    assert list(features.redis.scan_iter(f"{features.prefix}:*", count=1000)) == []
    worker.assert_running()
    view.redis.close()
