"""The raw limit of `bench ingest`: a process of its own running a plain confluent-kafka
``Consumer`` (``consume(num_messages=...)``), ``Codec.decode_many``, ``Interaction.from_record``
and plain cassandra-driver writes (``execute_concurrent``, one prepared INSERT per kind with
``USING TTL ?``, rows of one partition as one UNLOGGED batch unless ``--baseline-writes
singles``), committing offsets after each batch is written."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType, PreparedStatement, Statement
from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import KafkaException

from benchmarks.harness.errors import BenchError
from benchmarks.ingest.consumer import Consumer, Counts
from core.settings import CassandraSettings, RetentionSettings
from schemas.codec import default_codec
from schemas.errors import SchemaError
from store.buckets import bucket_of, span_days
from store.cassandra_session import open_session
from store.cold import ttl_seconds
from store.interactions import KIND_FIELDS, Interaction

COMMON_COLUMNS = ("user_id", "kind", "bucket", "ts", "event_id", "product_id", "category_id")
MAX_BATCH_ROWS = 100
CONSUMED, WRITTEN, BATCHES, REQUESTS, FAILED = 0, 1, 2, 3, 4
"""Slots of the counters the baseline process shares with the parent."""


@dataclass(frozen=True, slots=True)
class RawConfig:
    """What the baseline process needs (picklable: it starts with ``spawn``)."""

    bootstrap_servers: str
    topic: str
    group: str
    cassandra: CassandraSettings
    keyspace: str
    retention: RetentionSettings
    writes: str
    concurrency: int
    consume_batch: int

    def describe(self) -> str:
        writes = (
            "one UNLOGGED batch per partition (a lone row as itself)"
            if self.writes == "batches"
            else "single-row INSERTs"
        )
        return (
            f"confluent-kafka Consumer.consume(num_messages={self.consume_batch}) + "
            "Codec.decode_many + Interaction.from_record + cassandra-driver "
            f"execute_concurrent(concurrency={self.concurrency}) of {writes}, "
            "prepared INSERT USING TTL, offsets committed after each written batch"
        )


class RawConsumer(Consumer):
    """The baseline in a process of its own (as the worker is), counting what it wrote."""

    def __init__(self, config: RawConfig) -> None:
        self.config = config
        context = multiprocessing.get_context("spawn")
        self._shared: Any = context.Array("q", 5, lock=False)
        self._stop = context.Event()
        self._proc = context.Process(
            target=raw_consumer_main,
            args=(config, self._shared, self._stop),
            name="bench-raw-consumer",
            daemon=True,
        )

    def start(self) -> None:
        self._proc.start()
        assert self._proc.pid is not None
        self.pids = [self._proc.pid]

    def alive(self) -> None:
        if self._shared[FAILED]:
            raise BenchError("the baseline consumer failed (its traceback is above)")
        if not self._proc.is_alive():
            raise BenchError(f"the baseline consumer exited with code {self._proc.exitcode}")

    def counts(self) -> Counts:
        return Counts(int(self._shared[CONSUMED]), int(self._shared[WRITTEN]))

    def batch_stats(self) -> dict[str, Any]:
        batches = int(self._shared[BATCHES])
        consumed = int(self._shared[CONSUMED])
        requests = int(self._shared[REQUESTS])
        return {
            "batches": batches,
            "mean_batch_size": round(consumed / batches, 1) if batches else 0.0,
            "requests": requests,
            "rows_per_request": round(int(self._shared[WRITTEN]) / requests, 2) if requests else 0,
        }

    def stop(self) -> None:
        self._stop.set()
        self._proc.join(timeout=60)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=30)


class RawWriter:
    """Plain cassandra-driver: prepared INSERT ... USING TTL ?, ``execute_concurrent``."""

    def __init__(
        self,
        session: Session,
        keyspace: str,
        retention: RetentionSettings,
        writes: str,
        concurrency: int,
    ) -> None:
        self.session = session
        self.retention = retention
        self.batches = writes == "batches"
        self.concurrency = concurrency
        self.requests = 0
        self.inserts: dict[str, PreparedStatement] = {}
        for kind, own in KIND_FIELDS.items():
            columns = (*COMMON_COLUMNS, *own)
            statement = session.prepare(
                f"INSERT INTO {keyspace}.interactions ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in columns)}) USING TTL ?"
            )
            statement.consistency_level = ConsistencyLevel.LOCAL_QUORUM
            self.inserts[kind] = statement

    def statements(self, rows: Sequence[Interaction], now_ms: int) -> list[Statement]:
        by_partition: dict[tuple[str, str, int], list[Statement]] = {}
        singles: list[Statement] = []
        for row in rows:
            ttl = ttl_seconds(self.retention.days(row.kind), row.ts_ms, now_ms)
            bucket = bucket_of(row.ts_ms, span_days(row.kind))
            values = [
                row.user_id, row.kind, bucket, row.ts_ms, row.event_id, row.product_id,
                row.category_id, *row.kind_fields().values(), ttl,
            ]  # fmt: skip
            bound = self.inserts[row.kind].bind(values)
            if self.batches:
                by_partition.setdefault((row.user_id, row.kind, bucket), []).append(bound)
            else:
                singles.append(bound)
        if not self.batches:
            return singles
        out: list[Statement] = []
        for group in by_partition.values():
            if len(group) == 1:
                out.append(group[0])
                continue
            for start in range(0, len(group), MAX_BATCH_ROWS):
                batch = BatchStatement(
                    BatchType.UNLOGGED, consistency_level=ConsistencyLevel.LOCAL_QUORUM
                )
                for bound in group[start : start + MAX_BATCH_ROWS]:
                    batch.add(bound)
                out.append(batch)
        return out

    def write(self, rows: Sequence[Interaction]) -> None:
        """Every row acknowledged when this returns; the first failure raises."""
        statements = self.statements(rows, time.time_ns() // 1_000_000)
        self.requests += len(statements)
        execute_concurrent(
            self.session,
            [(statement, None) for statement in statements],
            concurrency=self.concurrency,
            raise_on_first_error=True,
        )


def raw_consumer_main(config: RawConfig, shared: Any, stop: Any) -> None:
    """The baseline's loop: consume a batch, decode, build, write, commit; until ``stop``."""
    try:
        _raw_loop(config, shared, stop)
    except BaseException:
        shared[FAILED] = 1
        raise


def _raw_loop(config: RawConfig, shared: Any, stop: Any) -> None:
    session = open_session(config.cassandra, config.keyspace)
    writer = RawWriter(
        session, config.keyspace, config.retention, config.writes, config.concurrency
    )
    codec = default_codec()
    consumer = KafkaConsumer(
        {
            "bootstrap.servers": config.bootstrap_servers,
            "group.id": config.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([config.topic])
    consumed = written = batches = 0
    try:
        while not stop.is_set():
            messages = consumer.consume(num_messages=config.consume_batch, timeout=0.1)
            if not messages:
                continue
            values: list[bytes] = []
            for message in messages:
                error = message.error()
                if error is not None:
                    raise KafkaException(error)
                values.append(message.value() or b"")
            rows: list[Interaction] = []
            for decoded in codec.decode_many(values):
                if isinstance(decoded, SchemaError):
                    raise decoded
                if decoded.kind != "app_open":
                    rows.append(Interaction.from_record(decoded.kind, decoded.record))
            if rows:
                writer.write(rows)
            consumer.commit(asynchronous=True)  # offsets only after the batch is written
            consumed += len(values)
            written += len(rows)
            batches += 1
            shared[BATCHES] = batches
            shared[REQUESTS] = writer.requests
            shared[CONSUMED] = consumed
            shared[WRITTEN] = written
    finally:
        consumer.close()
        session.cluster.shutdown()
