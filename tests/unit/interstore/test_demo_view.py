"""The demo's live view: the worker's /metrics read, and the figures drawn from them."""

from __future__ import annotations

import io

from rich.console import Console

from interstore.demo_view import (
    ABSORBED,
    CONSUMED,
    DEAD_LETTERS,
    FLUSHED,
    FLUSHES,
    LIVE_SESSIONS,
    WRITTEN,
    DemoState,
    MetricsReading,
    parse_metrics,
    plain_line,
    render,
)
from streams.metrics import WorkerMetrics


def worker_page(consumed: int, dead: int, live: int, flushes: int) -> str:
    """What a real worker's /metrics page says after this much work."""
    metrics = WorkerMetrics()
    metrics.consumed.labels("click").inc(consumed - 10)
    metrics.consumed.labels("app_open").inc(10)
    metrics.dead_lettered.labels("bad_magic").inc(dead)
    metrics.live_sessions.set(live)
    metrics.hydrations.inc(10)
    metrics.flushes.labels("inactive").inc(flushes)
    metrics.absorbed.inc(consumed - 20)
    metrics.written.labels("click").inc(30)
    metrics.flushed.inc(25)
    metrics.recoveries.inc(flushes // 7)
    metrics.cold_write_retries.inc(flushes // 7 * 2)
    metrics.batch_size.observe(100)
    metrics.consumer_lag.labels("events", "0").set(3)
    return metrics.exposition().decode()


def test_counters_and_gauges_are_summed_over_labels() -> None:
    reading = parse_metrics(worker_page(consumed=500, dead=2, live=40, flushes=5))
    assert reading.get(CONSUMED) == 500
    assert reading.by_label[CONSUMED] == {"click": 490, "app_open": 10}
    assert reading.get(DEAD_LETTERS) == 2
    assert reading.get(LIVE_SESSIONS) == 40
    assert reading.get(FLUSHES) == 5
    assert reading.get("interstore_consumer_lag") == 3
    assert reading.get("interstore_hydrations_created") == 0  # creation times left out
    assert not any(name.startswith("interstore_batch_size") for name in reading.totals)
    assert reading.get("interstore_not_there") == 0


def state_after(seconds: list[float], pages: list[str], produced: list[int]) -> DemoState:
    baseline = parse_metrics(worker_page(consumed=100, dead=1, live=0, flushes=0))
    state = DemoState(60, "sessions end after 15s without events", baseline, baseline)
    for elapsed, page, sent in zip(seconds, pages, produced, strict=True):
        state.update(elapsed_s=elapsed, produced=sent, malformed=1, latest=parse_metrics(page))
    return state


def test_figures_count_from_the_baseline_and_rates_from_the_last_seconds() -> None:
    pages = [
        worker_page(consumed=100, dead=1, live=0, flushes=0),
        worker_page(consumed=600, dead=2, live=80, flushes=3),
        worker_page(consumed=1100, dead=3, live=90, flushes=7),
    ]
    state = state_after([0.0, 1.0, 2.0], pages, [0, 500, 1010])
    assert state.consumed == 1000 + 2  # events and dead letters since the start
    assert state.delta(FLUSHES) == 7
    assert state.delta_by_label(DEAD_LETTERS) == {"bad_magic": 2}
    produced_rate, consumed_rate = state.rates()
    assert produced_rate == 505
    assert consumed_rate == 501
    assert state.delta(ABSORBED) == 1000
    assert state.delta(WRITTEN) == state.delta(FLUSHED) == 0  # the same 30 and 25 as at start


def test_the_view_renders_every_figure() -> None:
    pages = [worker_page(consumed=1100, dead=3, live=90, flushes=7)]
    state = state_after([12.0], pages, [1010])
    out = io.StringIO()
    Console(file=out, width=140, color_system=None).print(render(state))
    text = out.getvalue()
    for expected in (
        "12s of 60s, 48s left",
        "1,010 produced (1 malformed), 1,002 consumed, 8 behind",
        "90 in Redis now",
        "sessions ended",
        "7 (inactive 7)",
        "1,000 interactions of live sessions",
        "dead letters",
        "2 (bad_magic 2)",
        "1 partition replayed (Redis lost its data)",
        "sessions end after 15s without events",
    ):
        assert expected in text, expected
    assert "2 cold writes retried (Cassandra unavailable)" in text
    line = plain_line(state)
    assert "\n" not in line
    assert "live sessions: 90 in Redis now" in line
    state.phase = "done"
    assert "12s: done" in plain_line(state)
    calm = state_after([1.0], [worker_page(consumed=200, dead=1, live=5, flushes=0)], [100])
    assert "incidents: none" in plain_line(calm)


def test_an_empty_page_reads_as_zeros() -> None:
    reading = parse_metrics("")
    assert reading == MetricsReading()
    assert reading.get(CONSUMED) == 0
