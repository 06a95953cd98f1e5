"""The pure parts of `interstore bench api`: vegeta reports, the rate ladder, what limits a rate,
targets, the floor's figures, vegeta's targets and the result file."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from benchmarks.api.floor import floor_figures
from benchmarks.api.ladder import Step, ladder_json, limited_by, nice, rate_ladder
from benchmarks.api.plan import ENDPOINTS, ApiParams
from benchmarks.api.report import api_targets, build_result, render
from benchmarks.api.scaling import scaling_entry, scaling_table, single_requests
from benchmarks.api.vegeta import Request, VegetaReport, status_latencies, targets_lines
from benchmarks.harness.results import RESULT_KEYS, read_result, write_result

MS = 1_000_000


def report_json(
    p99_ms: float = 2.0, *, rate: float = 1000.0, codes: dict[str, int] | None = None,
    success: float = 1.0, errors: list[str] | None = None,
) -> str:  # fmt: skip
    """What ``vegeta report -type=json`` prints (latencies in ns; errors may be null)."""
    codes = {"200": 20_000} if codes is None else codes
    latencies = {"total": 40_000 * MS, "mean": int(1.2 * MS), "50th": 1 * MS, "90th": int(1.5 * MS)}
    latencies |= {"95th": int(1.8 * MS), "99th": int(p99_ms * MS), "max": 30 * MS, "min": 300_000}
    return json.dumps({
        "latencies": latencies,
        "bytes_in": {"total": 1, "mean": 1}, "bytes_out": {"total": 0, "mean": 0},
        "earliest": "2026-11-25T10:00:00Z", "latest": "2026-11-25T10:00:20Z",
        "end": "2026-11-25T10:00:20Z", "duration": 20_000 * MS, "wait": 1 * MS,
        "requests": sum(codes.values()), "rate": rate, "throughput": rate * success,
        "success": success, "status_codes": codes, "errors": errors,
    })  # fmt: skip


def step(
    p99_ms: float = 2.0, target: float = 5.0, cpu: dict[str, Any] | None = None, **kw: Any
) -> Step:
    codes = kw.get("codes", {"200": 10})
    rows = [f"1,{code},{int(p99_ms * MS)},0,1,,,0,0,GET,/,x" for code, n in codes.items()]
    results = [row for row in rows for _ in range(codes[row.split(",")[1]])]
    report = VegetaReport.parse(report_json(p99_ms, **kw), 1000.0, results_csv=results)
    return Step(report, target, cpu or {"host_cpu_busy": 0.5, "cpu_cores": {"api": 0.4}})


# -- vegeta reports


def test_a_report_is_read_in_milliseconds() -> None:
    report = VegetaReport.parse(report_json(3.5), wanted_rate=1000.0)
    figures = report.figures()
    assert figures["p50_ms"] == 1.0
    assert figures["p99_ms"] == 3.5
    assert figures["max_ms"] == 30.0
    assert figures["requests"] == 20_000
    assert figures["not_2xx"] == 0
    assert report.all_ok
    assert report.kept_rate


def test_null_errors_and_missing_status_codes_read_as_empty() -> None:
    data = json.loads(report_json())
    data["status_codes"] = None
    report = VegetaReport.parse(json.dumps(data))
    assert report.errors == []
    assert report.status_codes == {}


def test_non_2xx_and_unanswered_requests_fail_the_report() -> None:
    report = VegetaReport.parse(report_json(codes={"200": 990, "503": 7, "0": 3}, success=0.99))
    assert report.not_2xx == 10
    assert not report.all_ok
    # even a report whose success ratio rounds to 1 fails on one non-2xx status
    assert not VegetaReport.parse(report_json(codes={"200": 99_999, "401": 1})).all_ok


def test_a_rate_the_attacker_could_not_send_is_not_kept() -> None:
    assert not VegetaReport.parse(report_json(rate=900.0), wanted_rate=1000.0).kept_rate
    assert VegetaReport.parse(report_json(rate=960.0), wanted_rate=1000.0).kept_rate


# -- the ladder


def test_nice_rounds_to_two_significant_digits() -> None:
    assert [nice(v) for v in (1234.0, 48.8, 500.0, 976.5625)] == [1200.0, 49.0, 500.0, 980.0]
    with pytest.raises(ValueError, match="positive"):
        nice(0)


def test_the_ladder_rises_by_the_factor_without_repeats() -> None:
    assert rate_ladder(500, 1.25, 6) == [500.0, 620.0, 780.0, 980.0, 1200.0, 1500.0]
    assert rate_ladder(2, 1.25, 5) == [2.0, 2.5, 3.1, 3.9, 4.9]
    ladder = rate_ladder(1, 1.05, 30)
    assert len(ladder) == 30
    assert ladder == sorted(set(ladder))


def test_a_step_passes_under_the_target_with_every_request_answered() -> None:
    assert step(4.9).passed
    assert not step(5.1).passed
    assert not step(2.0, codes={"200": 999, "503": 1}).passed
    assert not step(2.0, rate=500.0).passed


def test_max_sustainable_is_the_last_rate_passed_before_the_first_failure() -> None:
    steps = [
        step(2.0),
        step(3.0),
        step(9.0, cpu={"host_cpu_busy": 0.97, "cpu_cores": {"api": 0.99}}),
    ]
    steps = [Step(VegetaReport.parse(report_json(s.p99_ms), rate), 5.0, s.cpu)
             for s, rate in zip(steps, (500.0, 620.0, 780.0), strict=True)]  # fmt: skip
    ladder = ladder_json(steps, api_processes=1, cpu_count=2)
    assert ladder["max_sustainable_rps"] == 620.0
    assert "p99 9.0 ms over 5 ms" in ladder["limited_by"]
    assert "CPU-bound (0.99 cores in 1 process(es)" in ladder["limited_by"]
    assert "97% busy" in ladder["limited_by"]
    assert [s["passed"] for s in ladder["steps"]] == [True, True, False]


def test_the_ladder_also_says_up_to_which_rate_the_api_kept_up() -> None:
    rates = (100.0, 120.0, 160.0, 200.0)
    p99s = (3.0, 7.0, 40.0, 150.0)
    steps = [
        Step(VegetaReport.parse(report_json(p99), rate), 5.0)
        for p99, rate in zip(p99s, rates, strict=True)
    ]
    ladder = ladder_json(steps, 1, 2)
    assert ladder["max_sustainable_rps"] == 100.0
    assert ladder["max_keeping_up_rps"] == 160.0
    assert [step.keeping_up for step in steps] == [True, True, True, False]


def test_nothing_passed_is_zero_and_everything_passed_says_so() -> None:
    assert ladder_json([step(8.0)], 1, 2)["max_sustainable_rps"] == 0.0
    assert ladder_json([step(1.0)], 1, 2)["limited_by"].startswith("not reached")


def test_limited_by_names_errors_a_short_rate_and_an_unsaturated_tail() -> None:
    failed = step(2.0, codes={"200": 10, "503": 2}, errors=["503 Service Unavailable"])
    assert "failed requests: status {'200': 10, '503': 2}" in limited_by(failed, 1, 2)
    assert "sent 500/s of 1000/s" in limited_by(step(2.0, rate=500.0), 1, 2)
    assert "no CPU saturated" in limited_by(step(7.0), 1, 2)
    # two API processes at 1.2 cores are not saturated
    two = step(7.0, cpu={"host_cpu_busy": 0.6, "cpu_cores": {"api": 1.2}})
    assert "CPU-bound" not in limited_by(two, 2, 2)


# -- targets and the result


def floor(p50: float, p99: float, cpu_us: float = 200.0) -> dict[str, Any]:
    return {
        "p50_ms": p50, "p90_ms": p50, "p99_ms": p99, "max_ms": p99, "success": 1.0,
        "cpu_per_request_us": cpu_us,
    }  # fmt: skip


FLOORS = {name: {"raw": floor(0.5, 1.0), "store": floor(0.8, 2.0)} for name in ENDPOINTS}


def test_targets_are_p99_ceilings_answers_or_503s_and_ratios_to_the_floor() -> None:
    cpu = {"host_cpu_busy": 0.5, "cpu_cores": {"api": 0.4}, "measured_s": 20.0}
    single, batch = step(2.5, cpu=cpu), step(25.0, target=20.0)
    assert single.api_cpu_per_request_us == pytest.approx(400.0)  # 0.4 cores x 20 s / 20,000
    met = {t.name: t.met for t in api_targets(single, batch, FLOORS)}
    assert met == {
        "one hot user p99 at 1,000 req/s": True,
        "batch of 50 p99 at 1,000 req/s": False,
        "requests answered 2xx or shed with 503": True,
        "one hot user p99 of 2xx answers / raw floor p99": True,
        "one hot user API CPU per request / floor's": True,
    }
    shed = step(4.0, codes={"200": 5, "503": 5})
    assert api_targets(shed, batch, FLOORS)[2].met
    assert shed.report.figures()["share_503"] == 0.5
    for bad in (step(4.0, codes={"200": 5, "500": 1}), step(4.0, codes={"200": 5, "0": 1})):
        assert not api_targets(bad, batch, FLOORS)[2].met


def test_latencies_per_status_class_from_the_raw_results() -> None:
    rows = [f"1,200,{n * MS},0,1,,,0,0,GET,/,x" for n in range(1, 101)]
    rows += [f"1,503,{MS // 2},0,1,,,0,0,GET,/,x", f"1,0,{5000 * MS},0,0,timeout,,0,0,GET,/,x"]
    by = status_latencies(rows)
    assert by["2xx"] == {"count": 100, "p50_ms": 50.5, "p99_ms": 99.01}
    assert by["503"]["p99_ms"] == 0.5
    assert by["unanswered"] == {"count": 1, "p50_ms": 5000.0, "p99_ms": 5000.0}


def test_the_result_file_has_the_documented_keys_and_ratios(tmp_path: Any) -> None:
    figures: dict[str, Any] = {}
    for name in ENDPOINTS:
        s = step(4.0)
        figures[name] = {"at_rate": s.to_json(), "ladder": ladder_json([s], 1, 2)}
    result = build_result(
        ApiParams(), figures, FLOORS, api_targets(step(), step(), FLOORS), {"cpu_count": 2}
    )
    assert result.ratio == 4.0
    assert result.figures["ratios"] == {
        "single_p50": 2.0, "single_p99": 4.0, "spread_p50": 2.0, "spread_p99": 4.0,
        "batch_p50": 2.0, "batch_p99": 4.0,
    }  # fmt: skip
    data = read_result(write_result(result, tmp_path))
    assert tuple(data) == RESULT_KEYS
    assert data["name"] == "api"
    assert data["params"]["rate"] == 1000.0
    assert len(render(result)) == 3


def test_params_refuse_what_cannot_run() -> None:
    with pytest.raises(ValueError, match="at least `limit`"):
        ApiParams(limit=200, interactions_per_user=150)
    with pytest.raises(ValueError, match="positive"):
        ApiParams(rate=0)
    with pytest.raises(ValueError, match="over 1"):
        ApiParams(step_factor=1.0)


# -- the floor and vegeta's targets


def test_floor_figures_match_a_vegeta_report_shape() -> None:
    seconds = [0.001] * 98 + [0.004, 0.010]
    figures = floor_figures(seconds, ["TimeoutError: x"], 100.0, 1.01, 0.0005)
    assert figures["requests"] == 101
    assert figures["rate_sent"] == 100.0
    assert figures["success"] == pytest.approx(100 / 101)
    assert figures["p50_ms"] == 1.0
    assert figures["max_ms"] == 10.0
    assert figures["schedule_lag_max_ms"] == 0.5
    assert "p99_ms" not in floor_figures([], ["x"], 100.0, 1.0, 0.0)


def test_targets_lines_are_vegeta_json_targets() -> None:
    text = targets_lines(
        [Request("GET", "http://h/a"), Request("POST", "http://h/b", b'{"user_ids": ["u"]}')],
        {"X-API-Key": "k" * 16},
    )
    first, second = (json.loads(line) for line in text.splitlines())
    assert first == {"method": "GET", "url": "http://h/a", "header": {"X-API-Key": ["k" * 16]}}
    assert base64.b64decode(second["body"]) == b'{"user_ids": ["u"]}'


# -- API processes (--api-processes 1,2)


def test_a_scaling_entry_has_cpu_per_request_summed_over_the_processes() -> None:
    s = step(3.0, cpu={"host_cpu_busy": 0.9, "cpu_cores": {"api": 0.8}})  # 1,000 req/s sent
    entry = scaling_entry(2, s, ladder_json([s], 2, 2))
    assert entry["api_cpu_us_per_request"] == 800.0  # 0.8 cores over 1,000 req/s
    assert (entry["api_processes"], entry["p99_ms"], entry["max_keeping_up_rps"]) == (
        2,
        3.0,
        1000.0,
    )
    assert scaling_table({"processes_2": entry}).row_count == 1


def test_api_process_counts_are_a_list() -> None:
    assert ApiParams(api_processes=(1, 2)).to_json()["api_processes"] == [1, 2]
    with pytest.raises(ValueError, match=">= 1"):
        ApiParams(api_processes=(0,))
    urls = [r.url for r in single_requests(["http://a", "http://b"], "u", 5)]
    assert urls == [f"http://{h}/v1/users/u/interactions?limit=5" for h in "ab"]
