"""The pure parts of `interstore bench hydrate`: generated traffic, quantiles, result shape; and
the worker's cold-write statement counter the benchmark reads."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

import pytest

from benchmarks.harness.figures import Ceiling, Target, percentile
from benchmarks.harness.records import interaction_record
from benchmarks.hydrate.app_opens import CHECKS_PER_S, POLL_S, poll_pause_s
from benchmarks.hydrate.lag import LAG_BOUND, lag_bounded
from benchmarks.hydrate.plan import HydrateParams, SessionMix, expected_hot, history, session_mix
from benchmarks.hydrate.report import WriteCost, build_result, render, write_mismatches
from deploy.scrape import (
    bucket_delta,
    histogram_buckets,
    histogram_quantile,
    metric_sums_by,
    metric_value,
)
from store.buckets import DAY_MS
from store.interactions import INTERACTION_KINDS
from streams.metrics import WorkerMetrics
from streams.outgoing import prepare_event
from tests.unit.streams.test_sessions import IDLE_MS, NOW_MS, World, app_open, click

# -- quantiles and Prometheus parsing (deploy.scrape)


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1
    assert percentile(values, 1) == 100
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)


def test_histogram_quantile_is_linear_inside_the_bucket() -> None:
    buckets = [(0.001, 0.0), (0.002, 50.0), (0.003, 90.0), (0.004, 100.0), (math.inf, 100.0)]
    assert histogram_quantile(buckets, 0.5) == pytest.approx(0.002)
    assert histogram_quantile(buckets, 0.25) == pytest.approx(0.0015)
    assert histogram_quantile(buckets, 0.99) == pytest.approx(0.0039)
    overflow = [(0.001, 10.0), (math.inf, 20.0)]  # the rank falls past the last finite bound
    assert histogram_quantile(overflow, 0.99) == 0.001
    with pytest.raises(ValueError, match="counted nothing"):
        histogram_quantile([(0.001, 0.0), (math.inf, 0.0)], 0.5)


def test_quantiles_of_the_worker_hydration_histogram_are_within_half_a_millisecond() -> None:
    metrics = WorkerMetrics()
    before = metrics.exposition().decode()
    samples = [0.0031 + 0.0001 * n for n in range(100)]  # 3.1 .. 13.0 ms
    for seconds in samples:
        metrics.hydration_seconds.observe(seconds)
    after = metrics.exposition().decode()
    name = "interstore_hydration_seconds"
    delta = bucket_delta(histogram_buckets(after, name), histogram_buckets(before, name))
    assert delta[-1] == (math.inf, 100.0)
    for q in (0.5, 0.99):
        assert abs(histogram_quantile(delta, q) - percentile(samples, q)) <= 0.0005


def test_metric_value_selects_by_label() -> None:
    text = (
        "# TYPE interstore_cold_write_statements_total counter\n"
        'interstore_cold_write_statements_total{path="direct"} 12.0\n'
        'interstore_cold_write_statements_total{path="flush"} 3.0\n'
        'interstore_cold_write_statements_created{path="flush"} 1.7e9\n'
    )
    name = "interstore_cold_write_statements_total"
    assert metric_value(text, name, path="flush") == 3.0
    assert metric_value(text, name, path="direct") == 12.0
    assert metric_value(text, name) == 15.0
    assert metric_sums_by([text, text], name, "path") == {"direct": 24.0, "flush": 6.0}
    assert metric_value(text, name, path="other") == 0.0


def test_a_ceiling_is_met_at_or_below_its_threshold() -> None:
    assert Ceiling("p99", 19.9, 20, "ms").met
    assert Ceiling("p99", 20, 20, "ms").met
    missed = Ceiling("p99", 25, 20, "ms")
    assert not missed.met
    assert "at most 20.00 ms: NOT met" in missed.describe()
    assert missed.to_json()["met"] is False
    assert isinstance(missed, Target)


# -- generated traffic


def test_history_is_deterministic_with_hundreds_of_every_kind_inside_the_window() -> None:
    items = history("h00001", 1000, NOW_MS, 60, seed=1)
    assert items == history("h00001", 1000, NOW_MS, 60, seed=1)
    assert items != history("h00002", 1000, NOW_MS, 60, seed=1)
    assert len({i.event_id for i in items}) == 1000
    assert {i.user_id for i in items} == {"h00001"}
    kinds = Counter(i.kind for i in items)
    assert set(kinds) == set(INTERACTION_KINDS)
    assert min(kinds.values()) >= 150
    assert all(NOW_MS - 60 * DAY_MS <= i.ts_ms < NOW_MS for i in items)
    assert expected_hot(items, 500) == {k: min(n, 500) for k, n in kinds.items()}


def test_history_rows_are_what_the_producer_accepts() -> None:
    rng = random.Random(3)
    for n in range(60):
        kind = INTERACTION_KINDS[n % 3]
        prepare_event(kind, interaction_record(kind, "h1", f"e{n}", NOW_MS, rng), now_ms=NOW_MS)


def mix(**overrides: object) -> SessionMix:
    params = HydrateParams(**{"session_users": 40, "through_users": 10, **overrides})  # type: ignore[arg-type]
    return session_mix(params, NOW_MS)


def by_user(events: Sequence[tuple[float, str, dict[str, object]]]) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for _, kind, record in events:
        users.setdefault(str(record["user_id"]), []).append(kind)
    return users


def test_the_session_mix_opens_sessions_of_10_to_50_interactions() -> None:
    traffic = mix()
    assert traffic == mix()
    users = by_user(traffic.events)
    sessions = {u: kinds for u, kinds in users.items() if u.startswith("s")}
    through = {u: kinds for u, kinds in users.items() if u.startswith("w")}
    assert len(sessions) == 40
    assert len(through) == 10
    for kinds in sessions.values():
        assert kinds[0] == "app_open"
        assert kinds.count("app_open") == 1
        assert 10 <= len(kinds) - 1 <= 50
    assert all("app_open" not in kinds for kinds in through.values())
    assert traffic.session_interactions == sum(len(k) - 1 for k in sessions.values())
    assert traffic.through_interactions == sum(len(k) for k in through.values())
    times = [event.at_s for event in traffic.events]
    assert times == sorted(times)


def test_no_session_goes_idle_before_its_last_interaction() -> None:
    params = HydrateParams(session_users=30, through_users=0)
    last: dict[str, float] = {}
    for at_s, _, record in session_mix(params, NOW_MS).events:
        user = str(record["user_id"])
        if user in last:
            assert at_s - last[user] < params.idle_s
        last[user] = at_s
        assert record["ts"] == NOW_MS + int(at_s * 1000)


def test_every_generated_event_is_valid() -> None:
    for _, kind, record in mix(session_users=5, through_users=5).events:
        prepare_event(kind, record, now_ms=NOW_MS + 3_600_000)


def test_write_through_is_the_same_interactions_without_app_opens() -> None:
    traffic = mix()
    through = traffic.write_through()
    assert [e for e in traffic.events if e.kind != "app_open"] == through.events
    assert through.session_interactions == 0
    assert through.through_interactions == traffic.interactions == len(through.events)


def test_parameters_keep_pauses_under_the_idle_timeout() -> None:
    with pytest.raises(ValueError, match="idle_s"):
        HydrateParams(gap_s=2.5, idle_s=3)
    with pytest.raises(ValueError, match="must be >= 1"):
        HydrateParams(users=0)


# -- the result


def test_the_result_compares_p99s_and_checks_the_targets() -> None:
    worker = {"count": 200, "p50_ms": 6.0, "p99_ms": 15.0, "mean_ms": 7.0}
    outside = {"count": 200, "p50_ms": 120.0, "p99_ms": 240.0, "mean_ms": 130.0, "max_ms": 300.0}
    lag = {"start": 100, "max": 900, "end": 300, "samples": 10, "bounded": True}
    phase = {
        "worker": worker, "outside": outside, "events_consumed_per_s": 998.0,
        "app_opens_per_s": 20.0, "consumer_lag": lag,
    }  # fmt: skip
    hydration = {**phase, "one_per_batch": phase}
    raw = {"count": 200, "p50_ms": 4.0, "p99_ms": 10.0, "mean_ms": 5.0, "max_ms": 12.0}
    sessions = {"flush": WriteCost(3000, 240).to_json(), "direct": WriteCost(1000, 990).to_json()}
    through = {"direct": WriteCost(4000, 3900).to_json()}
    result, targets = build_result(HydrateParams(), hydration, raw, sessions, through, {})
    data = result.to_json()
    assert tuple(data) == ("name", "params", "figures", "baseline", "ratio", "host")
    assert data["name"] == "hydrate"
    assert data["ratio"] == pytest.approx(1.5)
    assert data["baseline"]["write_through"]["direct"]["statements_per_interaction"] == 0.975
    assert [t.met for t in targets] == [True, True, True, True]
    assert len(render(result)) == 3  # latencies, worker stages, write costs
    slow = {**hydration, "worker": {**hydration["worker"], "p99_ms": 21.0}}
    slow |= {"outside": {**outside, "p99_ms": 251.0}, "consumer_lag": {**lag, "bounded": False}}
    _, targets = build_result(HydrateParams(), slow, raw, sessions, through, {})
    assert [t.met for t in targets] == [False, True, False, False]


def test_lag_is_bounded_when_the_end_is_small_or_not_much_over_the_start() -> None:
    assert lag_bounded(0, LAG_BOUND)
    assert not lag_bounded(0, LAG_BOUND + 1)
    assert lag_bounded(10_000, 15_000)
    assert not lag_bounded(10_000, 15_001)


def test_write_cost_per_interaction() -> None:
    assert WriteCost(300, 24).per_interaction == pytest.approx(0.08)
    assert WriteCost(0, 0).per_interaction == 0.0


def test_the_write_check_compares_the_interactions_tables_statements_only() -> None:
    ok = {"rows": 12_009, "interactions": 12_009, "flushed": 0, "in_sessions": 0}
    assert write_mismatches(**ok, counted=1262, server=1262) == []
    # Before: the counter held the recent-view deltas too (2,521 against Cassandra's 1,262).
    assert write_mismatches(**ok, counted=2521, server=1262) == [
        "statements to the interactions table (Cassandra's count): 1,262, expected 2,521"
    ]
    wrong = write_mismatches(
        rows=10, interactions=12, flushed=3, in_sessions=4, counted=5, server=5
    )
    assert wrong == ["rows in cold: 10, expected 12", "interactions flushed: 3, expected 4"]


# -- the worker's statement counter, by path


async def test_the_worker_counts_cold_statements_by_path() -> None:
    world = World()  # its in-memory cold tier: one statement per row
    await world.send([click(1, "u2"), click(2, "u2"), app_open(3), click(4), click(5)])
    world.clock.now += IDLE_MS + 1
    assert await world.tracker.tick({0}) == 1
    text = world.pipeline.metrics.exposition().decode()
    name = "interstore_cold_write_statements_total"
    assert metric_value(text, name, path="direct") == 2  # u2's two clicks
    assert metric_value(text, name, path="flush") == 2  # u1's session: clicks 4 and 5


def test_polls_for_live_users_are_bounded_in_checks_per_second() -> None:
    # The harness's polling must not grow with a worker that falls behind (its own CPU and
    # Redis's are taken from the box it measures): few waiting, every POLL_S; many, less often.
    assert poll_pause_s(0) == poll_pause_s(10) == POLL_S
    assert poll_pause_s(500) == 500 / CHECKS_PER_S
    for waiting in (1, 50, 500, 5_000):
        assert waiting / poll_pause_s(waiting) <= CHECKS_PER_S
