"""``settle_stack``: it returns within its bound, saying how long it waited and whether the stack
got quiet (whatever this box's stack is doing)."""

from __future__ import annotations

from rich.console import Console

from benchmarks.harness.settle import QUIET_SAMPLES, settle_stack


def test_settling_is_bounded_and_reported() -> None:
    sample_s = 0.05
    figures = settle_stack(Console(quiet=True), most_s=0.5, sample_s=sample_s)
    assert set(figures) == {"waited_s", "settled", "first_cores"}
    assert figures["waited_s"] <= 0.5 + 5 * sample_s + 1.0  # a sample reads every process
    assert figures["first_cores"] is not None
    assert figures["first_cores"] >= 0
    if figures["settled"]:
        assert figures["waited_s"] >= QUIET_SAMPLES * sample_s
