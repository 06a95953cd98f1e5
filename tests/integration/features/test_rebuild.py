"""``interstore features rebuild`` on the real stack: readers switch generations at once (no read
ever mixes two), a feature added to a copy of the definitions becomes readable, and the live
features worker hands over to the new generation without losing or doubling an event."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from features.catalogue import load_catalogue
from features.reader import FeatureReader, build_feature_reader
from store.feature_generations import Generation, control_key, generation_prefix
from store.redis_features import RedisFeatureStore
from tests.integration.features.conftest import (
    DEFINITIONS,
    Features,
    Record,
    expected_counts,
    traffic,
    wait_counts,
)


def current_prefix(features: Features) -> str:
    raw = features.redis.get(control_key(features.prefix, "current"))
    return generation_prefix(features.prefix, Generation.decode(raw).number)


def current_view(features: Features) -> Features:
    """The test's pipeline, reading the current generation's keys."""
    return Features(features.settings, features.pipeline, current_prefix(features))


def reader(features: Features, definitions: Path) -> FeatureReader:
    prefix = features.prefix
    settings = features.settings.model_copy(
        update={"features": features.settings.features.model_copy(
            update={"key_prefix": prefix, "generation_cache_s": 0.2})}
    )  # fmt: skip
    return build_feature_reader(
        settings,
        RedisFeatureStore(settings.redis, settings.features),
        None,
        catalogue=load_catalogue(definitions),
    )


async def rebuild(features: Features, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "interstore.cli", "features", "rebuild", "--json", *args,
        env={**features.env, **env}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, err.decode()[-3000:]
    return dict(orjson.loads(out.decode().strip().splitlines()[-1]))


def users_of(events: list[tuple[str, Record]]) -> list[str]:
    return sorted({r["user_id"] for k, r in events if k != "app_open"})


async def test_rebuild_with_a_new_feature_switches_every_reader_at_once(
    features: Features, tmp_path: Path
) -> None:
    events = traffic(2500, seed=21)
    users = users_of(events)
    worker, expected = await asyncio.to_thread(features.counted, events)
    worker.stop()  # it runs the old definitions: after the switch it would wait for a restart

    added = tmp_path / "definitions.yaml"
    added.write_text(
        DEFINITIONS.read_text().replace(
            "      - {name: orders_7d,",
            "      - {name: orders_30d, type: count, kind: order, window: 30d, default: 0}\n"
            "      - {name: orders_7d,",
        )
    )
    old, new = reader(features, DEFINITIONS), reader(features, added)
    before = await old.get("user", users, ["u.clicks_7d"])
    assert {v.status for row in before for v in row} == {"present"}

    seen: list[tuple[str, ...]] = []  # the statuses of each read, in order
    done = asyncio.Event()

    async def read_load() -> None:
        while not done.is_set():
            rows = await old.get("user", users, ["u.clicks_7d"])
            seen.append(tuple(sorted({v.status for row in rows for v in row})))
            await asyncio.sleep(0)

    loads = [asyncio.create_task(read_load()) for _ in range(4)]
    summary = await rebuild(features, {"INTERSTORE_FEATURES_DEFINITIONS_PATH": str(added)})
    await asyncio.sleep(0.5)  # past the readers' cache time
    done.set()
    await asyncio.gather(*loads)

    # The old definitions' group u has another fingerprint in the new generation: a read sees
    # every value present (old generation) or every value missing (new), never both.
    print("reads:", len(seen), "first in the new generation:", seen.index(("missing",)))
    print("rebuild:", summary)
    assert len(seen) > 20
    assert all(statuses in {("present",), ("missing",)} for statuses in seen), set(seen)
    first_new = seen.index(("missing",))
    assert all(s == ("missing",) for s in seen[first_new:]), "a read went back to the old one"
    assert summary["generation"] > summary["previous"] == 0

    rows = await new.get("user", users, ["u.orders_30d", "u.orders_7d", "u.clicks_7d"])
    for user, row in zip(users, rows, strict=True):
        clicks, orders = expected[("user", user)]
        assert [v.value for v in row] == [orders, orders, clicks], user
        assert {v.status for v in row} == {"present"}
    old_keys = list(features.redis.scan_iter(f"{features.prefix}:*", count=1000))
    assert old_keys == [], "the old generation was not dropped"
    for r in (old, new):
        await r.store.close()  # type: ignore[attr-defined]


async def test_rebuild_while_the_worker_ingests_hands_over_exactly(features: Features) -> None:
    events = traffic(6000, seed=22)
    expected = expected_counts(events)
    small = {"INTERSTORE_FEATURES_WORKER_BATCH_MAX": "200"}
    worker = features.start("live", **small)
    features.produce(events[:2000])
    features.wait_applied(worker, 1000)

    async def produce_during() -> None:
        for first in range(2000, 5000, 500):
            await asyncio.to_thread(features.produce, events[first : first + 500])
            await asyncio.sleep(0.5)

    producing = asyncio.create_task(produce_during())
    summary = await rebuild(features, {"INTERSTORE_OPS_REBUILD_LAG_TO_PAUSE": "300"})
    await producing
    print("rebuild:", summary)
    assert summary["generation"] == 1
    assert summary["paused_s"] < 10
    features.produce(events[5000:])  # after the switch: the worker writes generation 1

    assert current_prefix(features) == generation_prefix(features.prefix, 1)
    view = current_view(features)  # users, products, categories: every event counted once
    await asyncio.to_thread(wait_counts, view, expected, [worker])
    assert list(features.redis.scan_iter(f"{features.prefix}:*", count=1000)) == []
    worker.assert_running()
    view.redis.close()
