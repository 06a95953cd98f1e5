"""The demo's traffic plan: paced sessions that end, a steady rate, malformed messages."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import pytest

from interstore.demo_traffic import (
    MALFORMED_FLAVOURS,
    Malformed,
    PlannedEvent,
    TrafficPlan,
    build_plan,
    outgoing,
)
from schemas.codec import decode, default_codec
from schemas.errors import SchemaError
from schemas.validation import validate

START_MS = 1_750_000_000_000
RETURN_GAP_S = 20.0


def plan(
    seed: int = 7, duration_s: float = 40, rate: float = 300, users: int = 2_000
) -> TrafficPlan:
    return build_plan(
        duration_s=duration_s, rate=rate, users=users, seed=seed, return_gap_s=RETURN_GAP_S
    )


def events(traffic: TrafficPlan) -> list[PlannedEvent]:
    return [entry for entry in traffic.entries if isinstance(entry, PlannedEvent)]


def test_same_seed_same_plan_other_seed_other_events() -> None:
    assert plan().entries == plan().entries
    ids = {e.record["event_id"] for e in events(plan())}
    assert ids.isdisjoint({e.record["event_id"] for e in events(plan(seed=8))})


def test_entries_are_in_send_order_within_the_duration() -> None:
    times = [entry.at_s for entry in plan().entries]
    assert times == sorted(times)
    assert times[0] >= 0
    assert times[-1] < 40


def test_rate_is_steady_from_the_first_seconds() -> None:
    per_5s = Counter(int(e.at_s // 5) for e in events(plan(rate=400)))
    assert sorted(per_5s) == list(range(8))
    for count in per_5s.values():
        assert 400 * 5 * 0.8 < count < 400 * 5 * 1.2, per_5s


def test_users_open_the_app_then_go_idle_before_coming_back() -> None:
    traffic = plan()
    by_user: dict[str, list[PlannedEvent]] = defaultdict(list)
    for event in events(traffic):
        by_user[event.record["user_id"]].append(event)
    returns = 0
    for user_events in by_user.values():
        assert user_events[0].kind == "app_open"
        for before, after in itertools.pairwise(user_events):
            if after.kind == "app_open":  # a new session, after an idle spell
                returns += 1
                assert after.at_s - before.at_s >= RETURN_GAP_S
    assert returns > 0
    idle_long = [u for u, seen in traffic.last_seen_s.items() if seen < 40 - RETURN_GAP_S]
    assert len(idle_long) > 100  # sessions that end (and get flushed) during the demo
    assert traffic.sessions == sum(1 for e in events(traffic) if e.kind == "app_open")
    assert set(traffic.last_seen_s) == set(by_user)
    assert sum(traffic.interactions_by_user.values()) == sum(
        1 for e in events(traffic) if e.kind != "app_open"
    )


def test_a_small_user_pool_keeps_sending() -> None:
    traffic = plan(users=50, rate=100, duration_s=60)
    late = [e for e in events(traffic) if e.at_s > 40]
    assert late, "users come back after their idle spell"


def test_valid_events_are_timestamped_at_their_send_time_and_pass_the_checks() -> None:
    codec = default_codec()
    for entry in events(plan(duration_s=8))[:200]:
        event = outgoing(entry, start_ms=START_MS, now_ms=START_MS, codec=codec)
        decoded = decode(event.value)
        assert decoded.kind == entry.kind
        assert decoded.record["ts"] == START_MS + int(entry.at_s * 1000)
        assert event.key == entry.record["user_id"].encode()


def test_malformed_messages_are_dead_lettered_by_the_workers_rules() -> None:
    codec = default_codec()
    malformed = [entry for entry in plan(duration_s=40).entries if isinstance(entry, Malformed)]
    assert [m.flavour for m in malformed[:4]] == list(MALFORMED_FLAVOURS)
    assert len(malformed) == 10
    reasons = set()
    for entry in malformed:
        event = outgoing(entry, start_ms=START_MS, now_ms=START_MS, codec=codec)
        with pytest.raises(SchemaError) as refused:
            check(event.value)
        reasons.add(refused.value.reason)
    assert reasons == {"bad_magic", "unknown_schema", "negative_quantity", "ts_out_of_range"}


def check(value: bytes) -> None:
    """What the worker does to a message before storing it."""
    decoded = default_codec().decode(value)
    validate(decoded.kind, decoded.record, now_ms=START_MS)


@pytest.mark.parametrize("bad", [{"duration_s": 0}, {"rate": 0}, {"users": 0}])
def test_nonsense_is_refused(bad: dict[str, float]) -> None:
    arguments = {"duration_s": 10.0, "rate": 100.0, "users": 10, "seed": 1, **bad}
    with pytest.raises(ValueError, match="positive"):
        build_plan(**arguments)  # type: ignore[arg-type]
