"""The pure parts of the benchmarks: result file shape, ratios, targets, metric sums."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchmarks.harness.figures import Target, all_met, per_second, ratio
from benchmarks.harness.results import (
    RESULT_KEYS,
    BenchResult,
    code_commit,
    host_info,
    read_result,
    result_path,
    write_result,
)
from benchmarks.ingest.plan import Measurement, ingest_targets
from benchmarks.ingest.worker import stored_interactions
from deploy.scrape import metric_sum
from tests.unit.benchmarks.test_bench_ingest import all_stored


def result(**overrides: object) -> BenchResult:
    fields: dict[str, object] = {
        "name": "ingest",
        "params": {"events": 1000},
        "figures": {"worker_events_per_s": 6000.0},
        "baseline": {"events_per_s": 8000.0},
        "ratio": 0.75,
        "host": {"cpu_count": 2},
    }
    fields.update(overrides)
    return BenchResult(**fields)  # type: ignore[arg-type]


def test_result_file_has_the_documented_keys_in_order(tmp_path: Path) -> None:
    path = write_result(result(), tmp_path)
    assert path == tmp_path / "ingest.json"
    data = json.loads(path.read_text())
    assert tuple(data) == RESULT_KEYS == ("name", "params", "figures", "baseline", "ratio", "host")
    assert data["ratio"] == 0.75
    assert data["baseline"] == {"events_per_s": 8000.0}
    assert read_result(path) == data
    assert not list(tmp_path.glob("*.tmp"))


def test_a_new_run_replaces_the_previous_result(tmp_path: Path) -> None:
    write_result(result(ratio=0.5), tmp_path)
    write_result(result(ratio=0.9), tmp_path)
    assert read_result(tmp_path / "ingest.json")["ratio"] == 0.9


def test_reading_a_result_without_the_keys_fails(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"name": "odd", "figures": {}}))
    with pytest.raises(ValueError, match="lacks"):
        read_result(path)


def test_result_names_are_plain_identifiers(tmp_path: Path) -> None:
    assert result_path("hydrate", tmp_path) == tmp_path / "hydrate.json"
    with pytest.raises(ValueError, match="identifier"):
        result_path("../escape", tmp_path)


def test_ratio_is_value_over_baseline() -> None:
    assert ratio(6_000, 8_000) == pytest.approx(0.75)
    assert ratio(0, 8_000) == 0
    assert ratio(12_000, 8_000) == pytest.approx(1.5)


@pytest.mark.parametrize("baseline", [0.0, -1.0, float("nan")])
def test_ratio_refuses_a_baseline_that_measured_nothing(baseline: float) -> None:
    with pytest.raises(ValueError, match="baseline"):
        ratio(1.0, baseline)


def test_per_second() -> None:
    assert per_second(100_000, 20.0) == 5_000
    assert per_second(100, 0.0) == 0.0


def test_targets_are_met_at_the_threshold_and_above() -> None:
    assert Target("x", 0.6, 0.6, "ratio").met
    assert Target("x", 0.61, 0.6, "ratio").met
    assert not Target("x", 0.59, 0.6, "ratio").met
    assert all_met([Target("a", 2, 1), Target("b", 1, 1)])
    assert not all_met([Target("a", 2, 1), Target("b", 0, 1)])


def test_target_json_and_description() -> None:
    target = Target("worker / raw limit >= 60%", 0.55, 0.6, "ratio")
    assert target.to_json() == {
        "name": "worker / raw limit >= 60%",
        "value": 0.55,
        "threshold": 0.6,
        "unit": "ratio",
        "met": False,
    }
    assert target.describe() == "worker / raw limit >= 60%: 55% vs 60% needed: NOT met"
    rate = Target("worker >= 5,000 events/s", 7_250.4, 5_000, "events/s")
    assert rate.describe() == (
        "worker >= 5,000 events/s: 7,250 events/s vs 5,000 events/s needed: met"
    )


@pytest.mark.parametrize(
    ("events_per_s", "share", "met"),
    [
        (6_000.0, 0.7, [True, True]),
        (6_000.0, 0.5, [False, True]),
        (4_000.0, 0.9, [True, False]),
        (4_000.0, 0.3, [False, False]),
    ],
)
def test_ingest_targets(events_per_s: float, share: float, met: list[bool]) -> None:
    assert [t.met for t in ingest_targets(events_per_s, share)] == met


def test_measurement_rates_and_verification() -> None:
    m = Measurement("worker", events=100_000, expected_rows=79_000, total_s=20.0, produce_s=0.5)
    m.consumer_cpu_s = 10.0
    assert m.events_per_s == 5_000
    assert m.produce_events_per_s == 200_000
    assert not m.verified
    m.stored = all_stored(79_000)
    assert m.verified
    data = m.to_json()
    assert data["events_per_s"] == 5_000
    assert data["consumer_cpu_us_per_event"] == 100.0
    assert data["verified"] is True


def test_metric_sum_adds_every_label_set_of_one_metric() -> None:
    text = "\n".join(
        [
            "# HELP interstore_interactions_written_total Interactions written.",
            "# TYPE interstore_interactions_written_total counter",
            'interstore_interactions_written_total{kind="click"} 850.0',
            'interstore_interactions_written_total{kind="order"} 50.0',
            'interstore_interactions_written_created{kind="click"} 1.7e+09',
            'interstore_events_consumed_total{kind="app_open"} 100.0',
            "interstore_interactions_written_totals 7.0",
        ]
    )
    assert metric_sum(text, "interstore_interactions_written_total") == 900
    assert metric_sum(text, "interstore_events_consumed_total") == 100
    assert metric_sum(text, "interstore_missing_total") == 0


def test_stored_interactions_count_each_interaction_once_across_the_tiers() -> None:
    # 900 batch writes to cold + 300 session flushes (also cold writes) + 500 absorbed by hot
    # sessions, 300 of which the flushes then wrote to cold: 1,400 interactions stored.
    worker_one = "\n".join(
        [
            'interstore_interactions_written_total{kind="click"} 1000.0',
            'interstore_interactions_written_total{kind="order"} 200.0',
            "interstore_interactions_flushed_total 300.0",
            "interstore_interactions_absorbed_total 400.0",
        ]
    )
    worker_two = "interstore_interactions_absorbed_total 100.0"
    assert stored_interactions([worker_one, worker_two]) == 1_400
    assert stored_interactions(['interstore_interactions_written_total{kind="click"} 7.0']) == 7


def test_host_info_describes_the_box() -> None:
    host = host_info(cassandra="5.0.6")
    assert host["cpu_count"] >= 1
    assert host["cassandra"] == "5.0.6"
    assert {"cpu_model", "python", "load_average", "memory_mib"} <= set(host)


def test_the_commit_measured_is_recorded_and_none_outside_a_checkout(tmp_path: Path) -> None:
    checkout = Path(__file__).resolve().parents[3]
    head = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert (code_commit() or "").removesuffix("+changes") == head
    assert host_info()["commit"] == code_commit()
    assert code_commit(tmp_path) is None
