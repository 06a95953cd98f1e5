"""``interstore features rebuild --groups ... --from TIME`` and the per-group fingerprints on the
real stack: the named group's entities hold only the events from TIME on while the others are
carried over whole; a group changed but not named is refused (naming it) and the features worker
started with such definitions says which groups differ."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from store.feature_generations import Generation, control_key, decode_fingerprints
from tests.integration.features.conftest import (
    DEFINITIONS,
    Features,
    Record,
    expected_counts,
    traffic,
    wait_counts,
)
from tests.integration.features.test_rebuild import current_view

ADD_P = "      - {name: wishlists_30d, type: count, kind: wishlist, window: 30d, default: 0}\n"
ADD_C = "      - {name: orders_30d, type: count, kind: order, window: 30d, default: 0}\n"


async def run_cli(
    features: Features, env: dict[str, str], *args: str, code: int = 0
) -> tuple[dict[str, Any], str]:
    """``features rebuild --json ARGS``, which must exit with ``code``: its JSON summary (empty
    if it failed) and console output (stderr), whitespace collapsed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "interstore.cli", "features", "rebuild", "--json", *args,
        env={**features.env, **env}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    output = " ".join(err.decode().split())
    assert proc.returncode == code, output[-3000:]
    lines = out.decode().strip().splitlines()
    return (dict(orjson.loads(lines[-1])) if code == 0 else {}), output


def interactions(events: list[tuple[str, Record]]) -> int:
    return sum(kind != "app_open" for kind, _ in events)


def control(features: Features, name: str) -> bytes | None:
    raw = features.redis.get(control_key(features.prefix, name))
    return raw if raw is None else bytes(raw)


async def test_groups_from_a_time_recompute_the_named_group_from_then_and_carry_the_others(
    features: Features,
) -> None:
    events = traffic(3000, seed=41)
    early, late = events[:1500], events[1500:]
    features.produce(early)
    await asyncio.sleep(0.3)
    since_ms = int(time.time() * 1000)  # Kafka's record times: when produced
    await asyncio.sleep(0.3)
    features.produce(late)
    worker = features.start()
    await asyncio.to_thread(wait_counts, features, expected_counts(events), [worker])
    worker.stop()

    summary, output = await run_cli(features, {}, "--groups", "p", "--from", str(since_ms))
    print("rebuild:", summary)
    assert summary["groups"] == ["p"]
    assert summary["from_ms"] == since_ms
    assert summary["carried"]["before_from"] == interactions(early)  # each has one product
    assert summary["features"]["applied"] == interactions(late)  # the products' only
    assert summary["carried"]["skipped_events"] == 3 * interactions(events)
    assert "p recomputed from events at or after" in output, output
    assert "their windows hold no older event" in output, output

    # Users and categories: every event (carried). Products: the late events only; a product
    # seen only before --from has no state in the new generation.
    expected = expected_counts(events)
    recent = expected_counts(late)
    for key in expected:
        if key[0] == "product":
            expected[key] = recent.get(key, [])
    view = current_view(features)
    await asyncio.to_thread(wait_counts, view, expected, [], 30)
    view.redis.close()


async def test_a_changed_group_not_named_is_refused_and_the_worker_names_it(
    features: Features, tmp_path: Path
) -> None:
    events = traffic(1200, seed=42)
    worker, _ = await asyncio.to_thread(features.counted, events)
    worker.stop()

    full, _ = await run_cli(features, {})  # a full rebuild records fingerprints
    current = Generation.decode(control(features, "current"))
    recorded = decode_fingerprints(control(features, "fingerprints"), current.number)
    assert current.number == full["generation"]
    assert recorded == features.catalogue.fingerprints

    changed = tmp_path / "definitions.yaml"
    text = DEFINITIONS.read_text()
    text = text.replace("      - {name: buyers_24h,", ADD_P + "      - {name: buyers_24h,")
    text = text.replace("      - {name: clicks_5m,", ADD_C + "      - {name: clicks_5m,")
    changed.write_text(text)
    env = {"INTERSTORE_FEATURES_DEFINITIONS_PATH": str(changed)}
    next_before = control(features, "next")
    _, output = await run_cli(features, env, "--groups", "p", code=1)
    assert "feature group(s) c in" in output, output[-3000:]
    assert "add them to --groups, or run a full rebuild" in output, output[-3000:]
    assert control(features, "next") == next_before  # refused before anything was written
    assert control(features, "building") is None
    assert Generation.decode(control(features, "current")) == current

    stale = features.start("stale", **env)  # the changed definitions, generation built before
    deadline = time.monotonic() + 60
    while "feature groups c, p differ" not in stale.log_tail(20_000):
        stale.assert_running()
        assert time.monotonic() < deadline, stale.log_tail()
        await asyncio.sleep(0.5)
    assert stale.metric("interstore_feature_groups_changed") == 2
    stale.stop()

    summary, _ = await run_cli(features, env, "--groups", "p,c")
    assert summary["groups"] == ["c", "p"]
    assert summary["fingerprints_checked"]
    found = decode_fingerprints(control(features, "fingerprints"), int(summary["generation"]))
    assert found is not None
    assert recorded is not None
    differs = {group: found[group] != recorded[group] for group in recorded}
    assert differs == {"u": False, "p": True, "c": True, "uc": False}
