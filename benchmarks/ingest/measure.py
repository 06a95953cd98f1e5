"""One measurement of `bench ingest`, the same for every consumer under test: the consumer
starts first and the benchmark waits until the consumer group is stable with every partition
assigned (and the worker's /metrics answers), then produces as fast as it can. events/s = N /
(the poll that first sees every event consumed and every interaction stored - the first
produce). Once the consumer has stopped, the stores are checked by event id
(``benchmarks.ingest.verify``): every interaction produced must be in the keyspace's rows or,
for a consumer that keeps sessions, dirty in a live session; once (the union of the tiers, not
their sum), with missing and duplicated ones reported apart."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cassandra.cluster import Session
from rich.console import Console

from benchmarks.harness.cpu import ProcessCpu
from benchmarks.harness.errors import BenchError
from benchmarks.harness.figures import per_second, progress
from benchmarks.harness.processes import wait_assigned
from benchmarks.harness.scratch import Scratch
from benchmarks.ingest.consumer import Consumer, Counts
from benchmarks.ingest.plan import Measurement, Workload
from benchmarks.ingest.verify import cold_event_ids, verify
from benchmarks.ingest.worker import hot_dirty_ids
from core.settings import Settings
from streams.outgoing import OutgoingEvent
from streams.producer import EventProducer

POLL_S = 0.1
"""How often the counts are read, for both consumers: the end time is late by at most this."""
SETTLE_S = 3.0
"""Pause after the group is stable, so the consumer is fetching before the first produce."""
STALL_TIMEOUT_S = 120.0
"""Give up when the written count has not moved for this long."""


def produce_all(
    settings: Settings, topic: str, events: Sequence[OutgoingEvent], console: Console, label: str
) -> tuple[float, float]:
    """Send every event as fast as the producer takes them; (first send, all delivered)."""
    with (
        progress(console, rate=True) as bar,
        EventProducer(settings.kafka, topic, close_timeout_s=120) as producer,
    ):
        task = bar.add_task(f"{label}: producing", total=len(events), rate="")
        started = time.monotonic()
        for index, event in enumerate(events, start=1):
            producer.send_prepared(event)
            if index % 10_000 == 0:
                bar.update(task, completed=index)
        producer.flush(120)
        finished = time.monotonic()
        rate = per_second(len(events), finished - started)
        bar.update(task, completed=len(events), rate=f"{rate:,.0f}/s")
    return started, finished


def wait_counted(
    started: float,
    probe: Callable[[], Counts],
    measurement: Measurement,
    alive: Callable[[], None],
    console: Console,
) -> float:
    """Poll until every event is consumed and every interaction written; when that was seen.

    ``started`` is when the first event was produced (for the rate shown meanwhile).
    """
    expected = measurement.expected_rows
    with progress(console, rate=True) as bar:
        task = bar.add_task(f"{measurement.name}: rows written", total=expected, rate="")
        last_change, last = time.monotonic(), Counts(-1, -1)
        while True:
            alive()
            counts = probe()
            now = time.monotonic()
            if counts != last:
                last_change, last = now, counts
                bar.update(
                    task,
                    completed=min(counts.written, expected),
                    rate=f"{per_second(counts.consumed, now - started):,.0f} events/s",
                )
            if counts.written >= expected and counts.consumed >= measurement.events:
                measurement.consumed, measurement.written = counts
                return now
            if now - last_change > STALL_TIMEOUT_S:
                raise BenchError(
                    f"{measurement.name}: stuck at {counts.consumed:,} consumed, "
                    f"{counts.written:,} of {expected:,} rows written"
                )
            time.sleep(POLL_S)


def measure(
    measurement: Measurement,
    settings: Settings,
    session: Session,
    scratch: Scratch,
    workload: Workload,
    consumer: Consumer,
    console: Console,
) -> Measurement:
    """Start the consumer, wait for its assignment, produce everything, wait for every row,
    count the stores."""
    console.print(f"[bold]{measurement.name}[/]: starting the consumer ({scratch.prefix})")
    consumer.start()
    try:
        consumer.wait_ready()
        wait_assigned(
            settings, scratch.group, scratch.events_topic, scratch.partitions, consumer.alive
        )
        time.sleep(SETTLE_S)
        measurement.details["assignment"] = consumer.assignment()
        cpu = ProcessCpu(consumer.pids)
        cpu.start()
        started, produced = produce_all(
            settings, scratch.events_topic, workload.events, console, measurement.name
        )
        finished = wait_counted(started, consumer.counts, measurement, consumer.alive, console)
        measurement.consumer_cpu_s, measurement.host_cpu_busy = cpu.stop()
        measurement.details["cpu_seconds_per_process"] = [round(s, 2) for s in cpu.each_s]
        measurement.details.update(consumer.batch_stats())
        measurement.produce_s = produced - started
        measurement.total_s = finished - started
    finally:
        consumer.stop()
    # Counted once the consumer has stopped, so nothing moves between the tiers meanwhile.
    console.print(f"{measurement.name}: checking event ids in {scratch.keyspace}.interactions")
    cold = cold_event_ids(session, scratch.keyspace)
    hot: list[str] = []
    if consumer.keeps_sessions:
        hot = hot_dirty_ids(settings, scratch.hot_prefix, scratch.partitions)
    expected = (event.event_id for event in workload.events if event.kind != "app_open")
    checked = verify(expected, cold, hot)
    measurement.stored = checked
    rate = f"{measurement.events_per_s:,.0f} events/s"
    verdict = "verified" if measurement.verified else "[bold red]MISMATCH[/]"
    console.print(
        f"{measurement.name}: {rate} ({measurement.total_s:.1f}s), "
        f"{measurement.rows_verified:,} rows of {measurement.expected_rows:,} {verdict} "
        f"(missing {checked.missing}, duplicated {checked.duplicated}, in both tiers "
        f"{checked.in_both_tiers})"
    )
    return measurement
