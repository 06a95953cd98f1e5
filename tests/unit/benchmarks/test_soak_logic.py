"""The soak's pure parts: durations, per-phase figures, the verdict against the ledger."""

from __future__ import annotations

import pytest
import typer

from benchmarks.soak.command import parse_duration
from benchmarks.soak.plan import PHASES, SoakParams
from benchmarks.soak.reads import Sample, phase_figures
from benchmarks.soak.traffic import Ledger
from benchmarks.soak.verify import check


def test_durations() -> None:
    assert parse_duration("10m") == 600
    assert parse_duration("90s") == parse_duration("90") == 90
    assert parse_duration("1h") == 3600
    for bad in ("ten", "10x", "20s"):
        with pytest.raises(typer.BadParameter):
            parse_duration(bad)


def test_phases_share_the_duration_and_faults_are_bounded() -> None:
    params = SoakParams(duration_s=600)
    assert params.phase_s * len(PHASES) == 600
    assert params.fault_s == 30  # half of 85 s, capped
    assert SoakParams(duration_s=120).fault_s == pytest.approx(120 / 7 / 2)


def test_phase_figures_count_5xx_and_no_answer_as_failed() -> None:
    samples = [Sample(1.0, 200, 0.010), Sample(1.5, 503, 0.002), Sample(2.0, 0, 10.0)]
    samples += [Sample(5.0, 200, 0.5)]  # outside the phase
    figures = phase_figures(samples, 1.0, 3.0)
    assert figures["requests"] == 3
    assert figures["failed"] == 2
    assert figures["error_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["p99_ms"] > 9_000
    assert phase_figures([], 0, 1)["requests"] == 0


def test_the_verdict_names_every_kind_of_mismatch() -> None:
    ledger = Ledger(good={"a": "click", "b": "order"}, bad={(0, 5), (1, 7)})
    assert check(ledger, ["a", "b"], [(0, 5), (1, 7), (1, 7)], dirty=0)["ok"]
    wrong = check(ledger, ["a", "a", "x"], [(0, 5), (2, 9)], dirty=1)
    assert not wrong["ok"]
    assert (wrong["missing"], wrong["unexpected"], wrong["stored_twice"]) == (1, 1, 1)
    assert (wrong["poison_not_dead_lettered"], wrong["good_dead_lettered"]) == (1, 1)
    assert wrong["dirty_sessions_left"] == 1
