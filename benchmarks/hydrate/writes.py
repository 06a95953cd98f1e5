"""Part 2 of `bench hydrate`, cold writes per interaction, each on its own topic and keyspace:
a session mix (users who open the app, act 10-50 times and go idle; users who act without an
app_open), with a short idle timeout, then the same events without app_opens (write-through).
Statements come from the worker's ``interstore_cold_write_statements_total{path}`` (statements
to the interactions table: the recent-view deltas are not in it), checked against the count
Cassandra itself keeps for that table (``system_views.coordinator_write_latency``), rows with a
COUNT(*). Cassandra's count for ``recent_views`` (the deltas, and the hydrations' refreshes) is
reported beside, not checked."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from cassandra.cluster import Session
from rich.console import Console

from benchmarks.harness.figures import progress
from benchmarks.harness.processes import running_worker, wait_metric
from benchmarks.harness.scratch import Scratch, count_rows, delete_hot_keys, scratch_resources
from benchmarks.hydrate.latency import worker_env
from benchmarks.hydrate.plan import HydrateParams, Planned, SessionMix
from benchmarks.hydrate.report import WriteCost, write_mismatches
from core.clock import wall_clock_ms
from core.settings import Settings
from deploy.scrape import metric_sum, metric_value
from schemas.codec import default_codec
from streams.outgoing import prepare_event
from streams.producer import EventProducer


def produce_plan(
    settings: Settings,
    topic: str,
    events: Sequence[Planned],
    alive: Callable[[], None],
    console: Console,
    label: str,
) -> None:
    """Each planned event at its time after the start."""
    codec = default_codec()
    with progress(console, 34) as bar, EventProducer(settings.kafka, topic) as producer:
        task = bar.add_task(f"{label}: producing", total=len(events))
        started = time.monotonic()
        for index, (at_s, kind, record) in enumerate(events):
            time.sleep(max(0.0, started + at_s - time.monotonic()))
            producer.send_prepared(prepare_event(kind, record, now_ms=wall_clock_ms(), codec=codec))
            if index % 100 == 0:
                alive()
                bar.update(task, completed=index)
        producer.flush(60)
        bar.update(task, completed=len(events))


def server_statements(session: Session, keyspace: str, table: str = "interactions") -> int:
    """Writes Cassandra coordinated for one table of the keyspace (a batch counts once)."""
    row = session.execute(
        "SELECT count FROM system_views.coordinator_write_latency"
        " WHERE keyspace_name = %s AND table_name = %s",
        (keyspace, table),
    ).one()
    return int(row[0]) if row is not None else 0


def measure_writes(
    settings: Settings, session: Session, scratch: Scratch, params: HydrateParams,
    mix: SessionMix, label: str, console: Console,
) -> tuple[dict[str, Any], bool]:  # fmt: skip
    """One mix through a worker with short sessions: statements per interaction on each path."""
    console.print(
        f"[bold]{label}[/]: {len(mix.events):,} events, {mix.interactions:,} interactions "
        f"({scratch.prefix})"
    )
    try:
        with scratch_resources(settings, session, scratch) as scoped:
            env = worker_env(scratch, params, short_sessions=True)
            with running_worker(scoped, scratch, env, console) as worker:
                produce_plan(scoped, scratch.events_topic, mix.events, worker.alive, console, label)
                console.print(
                    f"{label}: waiting for every interaction in cold "
                    f"(sessions idle {params.idle_s}s)"
                )
                text = wait_metric(
                    worker,
                    lambda t: (
                        metric_sum(t, "interstore_interactions_written_total") >= mix.interactions
                        and metric_sum(t, "interstore_interactions_flushed_total")
                        >= mix.session_interactions
                    ),
                    f"{label}: every interaction written",
                )
            rows = count_rows(session, scratch.keyspace)
            server = server_statements(session, scratch.keyspace)
            views = server_statements(session, scratch.keyspace, "recent_views")
    finally:
        delete_hot_keys(settings, scratch.hot_prefix)
    statements = "interstore_cold_write_statements_total"
    flushed = int(metric_sum(text, "interstore_interactions_flushed_total"))
    written = int(metric_sum(text, "interstore_interactions_written_total"))
    flush = WriteCost(flushed, int(metric_value(text, statements, path="flush")))
    direct = WriteCost(written - flushed, int(metric_value(text, statements, path="direct")))
    counted = flush.statements + direct.statements
    figures = {
        "flush": flush.to_json(),
        "direct": direct.to_json(),
        "events": len(mix.events),
        "sessions": int(metric_sum(text, "interstore_session_flushes_total")),
        "rows_in_cold": rows,
        "statements_counted_by_cassandra": server,
        "view_statements_counted_by_cassandra": views,
    }
    wrong = write_mismatches(
        rows=rows, interactions=mix.interactions, flushed=flushed,
        in_sessions=mix.session_interactions, counted=counted, server=server,
    )  # fmt: skip
    verdict = "verified" if not wrong else "[bold red]MISMATCH[/]: " + "; ".join(wrong)
    console.print(
        f"{label}: {rows:,} rows, {counted:,} statements (Cassandra counted {server:,}; "
        f"{views:,} to recent_views): {verdict}"
    )
    return figures, not wrong
