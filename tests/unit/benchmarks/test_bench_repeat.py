"""Repetitions (``benchmarks.harness.repeat``) and the README table (``harness.report``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from benchmarks.harness.cpu import steal_text
from benchmarks.harness.repeat import Headline, combine, lookup, repeat, spread_of, summary_table
from benchmarks.harness.report import report_markdown
from benchmarks.harness.results import RESULT_KEYS, BenchResult, read_result, write_result


def run(events_per_s: float, ratio: float, **figures: Any) -> BenchResult:
    return BenchResult(
        name="ingest",
        params={"events": 1000},
        figures={"worker_events_per_s": events_per_s, "verified": True, **figures},
        baseline={"events_per_s": events_per_s / ratio, "method": "raw"},
        ratio=ratio,
        host={"cpu_count": 2, "cpu_model": "Test CPU", "memory_mib": 4096,
              "measured_at": "2026-12-02T00:30:00Z"},
    )  # fmt: skip


def test_each_number_is_the_median_of_the_runs_with_its_spread() -> None:
    runs = [run(6000, 0.3), run(5000, 0.25), run(7000, 0.35)]
    combined = combine(runs, {"events": 1000, "runs": 3})
    assert combined.figures["worker_events_per_s"] == 6000
    assert combined.ratio == 0.3
    spread = combined.extra["spread"]
    assert spread["figures.worker_events_per_s"] == {"median": 6000, "min": 5000, "max": 7000}
    assert spread["ratio"] == {"median": 0.3, "min": 0.25, "max": 0.35}
    assert [r["ratio"] for r in combined.extra["runs"]] == [0.3, 0.25, 0.35]
    assert combined.params == {"events": 1000, "runs": 3}
    assert combined.baseline["method"] == "raw"


def test_a_boolean_holds_only_if_it_held_in_every_run() -> None:
    runs = [run(6000, 0.3), run(5000, 0.25, verified=False), run(7000, 0.35)]
    assert combine(runs).figures["verified"] is False
    assert combine([run(6000, 0.3), run(5000, 0.25)]).figures["verified"] is True


def test_lists_fold_element_by_element_or_come_from_the_median_run() -> None:
    same = [run(1, 1.0, steps=[1, 10]), run(1, 2.0, steps=[3, 30]), run(1, 3.0, steps=[2, 20])]
    assert combine(same).figures["steps"] == [2, 20]
    ladders = [run(1, 1.0, steps=[1]), run(1, 2.0, steps=[5, 6]), run(1, 3.0, steps=[1, 2, 3])]
    assert combine(ladders).figures["steps"] == [5, 6]  # the run whose ratio is the median


def test_the_median_of_two_runs_lies_between_them() -> None:
    combined = combine([run(5000, 0.2), run(6000, 0.3)])
    assert combined.figures["worker_events_per_s"] == 5500
    assert combined.ratio == 0.25


def test_a_combined_result_keeps_the_documented_keys_first(tmp_path: Path) -> None:
    path = write_result(combine([run(6000, 0.3), run(5000, 0.25), run(7000, 0.35)]), tmp_path)
    data = read_result(path)
    assert tuple(data)[: len(RESULT_KEYS)] == RESULT_KEYS
    assert set(data) == {*RESULT_KEYS, "runs", "spread"}
    assert lookup(data, "figures.worker_events_per_s") == 6000
    assert spread_of(data, "baseline.events_per_s")["min"] == 20_000


def test_repeat_warms_up_first_and_runs_n_times() -> None:
    calls: list[str] = []

    def once(index: int) -> tuple[BenchResult, bool]:
        calls.append(f"run {index}")
        return run(6000, 0.3), index != 1

    results, verified = repeat(once, 3, Console(quiet=True), lambda: calls.append("warm-up"))
    assert calls == ["warm-up", "run 0", "run 1", "run 2"]
    assert len(results) == 3
    assert not verified
    for result in results:  # the host's CPU over each run, measured by repeat itself
        assert set(result.host["cpu"]) == {"busy", "steal", "seconds"}
        assert 0 <= result.host["cpu"]["steal"] <= result.host["cpu"]["busy"] <= 1
        assert result.host["cpu_model"] == "Test CPU"
    with pytest.raises(ValueError, match="at least one run"):
        repeat(once, 0, Console(quiet=True))


def test_the_report_is_a_markdown_table_with_median_spread_date_and_machine(
    tmp_path: Path,
) -> None:
    write_result(combine([run(6000, 0.3), run(5000, 0.25), run(7000, 0.35)]), tmp_path)
    text = report_markdown(tmp_path, {"ingest": "benchmarks.ingest.command", "api": "x.y"})
    assert "Test CPU, 2 cores, 4 GiB" in text
    lines = [line for line in text.splitlines() if line.startswith("| ingest |")]
    assert lines[0] == (
        "| ingest | sessions: events/s | 6,000 (5,000-7,000) events/s | 20,000 | 0.30 | 3 "
        "| - | 2026-12-02 |"
    )  # measured before steal was recorded: "-"
    assert len(lines) == 1  # the other headlines are not in this result file


def test_a_dashed_command_name_reads_its_underscored_result_file(tmp_path: Path) -> None:
    result = combine([run(6000, 0.3)])
    write_result(BenchResult("features_read", *list(result.to_json().values())[1:6]), tmp_path)
    text = report_markdown(tmp_path, {"features-read": "benchmarks.ingest.command"})
    assert "| features_read | sessions: events/s | 6,000 events/s |" in text


def test_a_single_run_reports_its_own_value_as_the_spread(tmp_path: Path) -> None:
    (tmp_path / "ingest.json").write_text(json.dumps(run(6000, 0.3).to_json()))
    data = read_result(tmp_path / "ingest.json")
    assert spread_of(data, "figures.worker_events_per_s") == {
        "median": 6000, "min": 6000, "max": 6000,
    }  # fmt: skip
    assert Headline("x", "figures.worker_events_per_s").unit == ""


def test_a_headline_this_run_does_not_have_is_left_out_of_the_summary() -> None:
    data = run(6000, 0.3).to_json()
    assert spread_of(data, "figures.scaling.workers_2.events_per_s") is None
    table = summary_table(data, [Headline("two workers", "figures.scaling.workers_2.events_per_s")])
    assert table.row_count == 0


def with_steal(result: BenchResult, steal: float) -> BenchResult:
    cpu = {"busy": 0.9, "steal": steal, "seconds": 60.0}
    return BenchResult(**{**result.to_json(), "host": {**result.host, "cpu": cpu}})


def test_each_runs_cpu_steal_is_kept_folded_and_shown_in_the_report(tmp_path: Path) -> None:
    runs = [with_steal(run(6000, 0.3), 0.02), with_steal(run(5000, 0.25), 0.2),
            with_steal(run(7000, 0.35), 0.01)]  # fmt: skip
    combined = combine(runs)
    assert combined.host["cpu"]["steal"] == 0.02
    assert combined.extra["spread"]["host.cpu.steal"] == {"median": 0.02, "min": 0.01, "max": 0.2}
    assert [r["host_cpu"]["steal"] for r in combined.extra["runs"]] == [0.02, 0.2, 0.01]
    write_result(combined, tmp_path)
    text = report_markdown(tmp_path, {"ingest": "benchmarks.ingest.command"})
    assert "| CPU steal | date |" in text
    assert "| 0.30 | 3 | 2.0% (1.0%-20.0%) | 2026-12-02 |" in text


def test_a_steal_under_a_percent_is_not_shown_as_none() -> None:
    assert steal_text({"median": 0.001, "min": 0.001, "max": 0.002}) == "0.1% (0.1%-0.2%)"
    assert steal_text({"median": 0.0, "min": 0.0, "max": 0.0}) == "0.0%"


def test_steal_is_left_out_when_a_run_did_not_record_it() -> None:
    combined = combine([with_steal(run(6000, 0.3), 0.02), run(5000, 0.25)])
    assert "cpu" not in combined.host
    assert "host.cpu.steal" not in combined.extra["spread"]
    assert "host_cpu" in combined.extra["runs"][0]
    assert "host_cpu" not in combined.extra["runs"][1]


def test_the_report_names_the_commits_measured(tmp_path: Path) -> None:
    measured = run(6000, 0.3)
    with_commit = BenchResult(
        **{**measured.to_json(), "host": {**measured.host, "commit": "abc1234"}}
    )
    write_result(with_commit, tmp_path)
    text = report_markdown(tmp_path, {"ingest": "benchmarks.ingest.command"})
    assert text.startswith("Measured on Test CPU, 2 cores, 4 GiB, code at abc1234. ")
    write_result(measured, tmp_path)  # measured before the commit was recorded
    text = report_markdown(tmp_path, {"ingest": "benchmarks.ingest.command"})
    assert "code at a commit not recorded." in text
