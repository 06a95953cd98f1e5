"""The worker's consumer lag on the real stack counts what the agent has not been handed yet:
records aiokafka prefetched into the process (thousands per partition) are still behind."""

from __future__ import annotations

import time
from collections.abc import Callable

from core.settings import Settings
from deploy.scrape import metric_sum, scrape
from tests.integration.worker.conftest import Pipeline, WorkerProcess, wait_for
from tests.integration.worker.test_worker_ingest import events, produce

StartWorker = Callable[[str], WorkerProcess]
EVENTS = 40_000
SLACK = 3_000  # a batch in progress plus records consumed since the gauge was refreshed


def lag_and_consumed(worker: WorkerProcess) -> tuple[float, float] | None:
    try:
        text = scrape(worker.metrics_url)
    except OSError:
        return None
    if "interstore_consumer_lag{" not in text:
        return None  # not measured yet (every 5 s)
    return (
        metric_sum(text, "interstore_consumer_lag"),
        metric_sum(text, "interstore_events_consumed_total"),
    )


def test_the_lag_counts_records_prefetched_but_not_handed_to_the_agent(
    settings: Settings, pipeline: Pipeline, start_worker: StartWorker
) -> None:
    batch = events(EVENTS, users=4_000, seed=21)
    produce(settings, pipeline, batch)  # a backlog before the worker starts
    worker = start_worker("worker")
    samples: list[tuple[float, float]] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        worker.assert_running()
        sample = lag_and_consumed(worker)
        if sample is not None:
            samples.append(sample)
            if sample[1] >= EVENTS:
                break
        time.sleep(0.5)
    behind = [(lag, EVENTS - consumed) for lag, consumed in samples if consumed < EVENTS - SLACK]
    assert behind, f"no sample while the worker was behind: {samples}"
    for lag, unconsumed in behind:  # the gauge is at most 5 s old: it may only overstate
        assert lag >= unconsumed - SLACK, (lag, unconsumed, samples)
    wait_for(
        lambda: (lag_and_consumed(worker) or (1.0, 0.0))[0] == 0,
        60, "the lag back to 0 once every record was handed over", worker.assert_running,
    )  # fmt: skip
