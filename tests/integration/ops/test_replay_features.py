"""``interstore replay --target features`` and ``forget user`` on the feature store, real stack:
a replay into an emptied store equals the live worker's values and states, a second replay
changes nothing, and a forgotten user's features are gone and stay gone through a replay."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
from cassandra.cluster import Session

from features.serving import decode_serving
from features.state import EntityState
from tests.integration.features.conftest import Features, traffic
from tests.integration.features.conftest import features as features  # the fixture


def cli(features: Features, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "interstore.cli", *args, "--json"],
        env=features.env, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return dict(orjson.loads(result.stdout.decode().strip().splitlines()[-1]))


def serving_values(features: Features) -> dict[str, list[Any]]:
    """Every serving value's values (not its computation time), by key without the prefix."""
    out: dict[str, list[Any]] = {}
    for key in features.redis.scan_iter(f"{features.prefix}:fv:*", count=1000):
        name = key.decode()
        if not name.endswith(":_state"):
            raw = features.redis.get(key)
            assert raw is not None
            out[name[len(features.prefix) :]] = list(decode_serving(raw).values)
    return out


def drop_feature_store(features: Features, session: Session) -> None:
    for key in features.redis.scan_iter(f"{features.prefix}:*", count=1000):
        features.redis.delete(key)
    session.execute(f"TRUNCATE {features.pipeline.keyspace}.feature_state", timeout=60)


def test_replay_features_equals_live_twice_and_a_forgotten_user_stays_gone(
    features: Features, cql_session: Session
) -> None:
    events = traffic(3000, seed=31)
    worker, _ = features.counted(events)
    worker.stop()
    live_states, live_values = features.states(), serving_values(features)

    drop_feature_store(features, cql_session)
    summary = cli(features, "replay", "--target", "features")
    assert sum(int(c["features"]) for c in summary["kinds"].values()) > 0
    assert features.states() == live_states  # tiles, distinct sets, fences: all equal
    assert serving_values(features) == live_values

    assert summary["features"]["applied"] > 0
    again = cli(features, "replay", "--target", "features", "--group", f"{features.prefix}-a")
    assert again["features"]["applied"] == 0
    assert again["features"]["duplicates"] == summary["features"]["applied"]
    assert features.states() == live_states  # every event a duplicate: nothing changed
    assert serving_values(features) == live_values

    user, category = next((r["user_id"], r["category_id"]) for kind, r in events if kind == "click")
    forgot = cli(features, "forget", "user", user)
    assert forgot["feature_states"] >= 2  # the user and at least one user x category
    gone = {
        k
        for k in live_values
        if f"}}:{user}:" in k and k.split(":")[2] in ("user", "user_category")
    }
    assert gone
    assert not gone & set(serving_values(features))
    assert features.values("user_category", (user, category), "uc") is None
    erased = {k: s for k, s in features.states().items() if f"}}:{user}:" in k}
    assert erased
    assert all(s == EntityState() for s in erased.values())

    cli(features, "replay", "--target", "features", "--group", f"{features.prefix}-third")
    assert not gone & set(serving_values(features))  # the replay skipped the user's events
    states = features.states()
    assert all(states[k] == EntityState() for k in erased)
    kept = {k: v for k, v in live_values.items() if k not in gone}
    assert {k: v for k, v in serving_values(features).items() if k in kept} == kept
