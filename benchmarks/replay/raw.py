"""The raw limit: a plain confluent-kafka consumer, fastavro and cassandra-driver at full
concurrency (``execute_concurrent``; a partition's rows as one UNLOGGED batch, as the cold store
writes them), no project code: what replaying the topic into the table costs at the least."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType
from confluent_kafka import Consumer, TopicPartition
from fastavro import parse_schema, schemaless_reader
from fastavro.schema import fingerprint, to_parsing_canonical_form

DAY_MS = 86_400_000
SPANS = {"click": 7, "order": 28, "wishlist": 28}
FIELDS = {
    "click": ("surface", "position"),
    "order": ("order_id", "quantity", "price", "currency"),
    "wishlist": ("action",),
}
RETENTION_DAYS = {"click": 90, "wishlist": 180, "order": 365}


def writer_schemas(avro_dir: Path) -> dict[bytes, tuple[str, Any]]:
    """CRC-64-AVRO fingerprint -> (kind, parsed schema), from the .avsc files."""
    found = {}
    for path in avro_dir.glob("*/v*.avsc"):
        raw = json.loads(path.read_text())
        canonical = fingerprint(to_parsing_canonical_form(raw), "CRC-64-AVRO")
        found[bytes.fromhex(canonical)] = (path.parent.name, parse_schema(raw))
    return found


def replay_raw(
    session: Session, keyspace: str, bootstrap: str, topic: str, partitions: int,
    total: int, avro_dir: Path, concurrency: int,
) -> float:  # fmt: skip
    """Consume ``total`` messages from the start, write each interaction; seconds taken."""
    inserts = {
        kind: session.prepare(
            f"INSERT INTO {keyspace}.interactions (user_id, kind, bucket, ts, event_id, "  # noqa: S608
            f"product_id, category_id, {', '.join(cols)}) VALUES "
            f"({', '.join('?' * (7 + len(cols)))}) USING TTL ?"
        )
        for kind, cols in FIELDS.items()
    }
    schemas = writer_schemas(avro_dir)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{keyspace}-raw",
                         "enable.auto.commit": False, "fetch.max.bytes": 64 << 20})  # fmt: skip
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    errors: list[Any] = []
    started = time.perf_counter()
    seen = 0
    try:
        while seen < total:
            by_partition: dict[tuple[str, str, int], list[Any]] = {}
            for message in consumer.consume(5000, 1.0):
                if message.error() is not None:
                    continue
                seen += 1
                data: bytes = message.value() or b""
                kind, schema = schemas[data[2:10]]
                if kind == "app_open":
                    continue
                record: dict[str, Any] = schemaless_reader(  # type: ignore[assignment]
                    io.BytesIO(data[10:]), schema, schema
                )
                ts = record["ts"]
                if not isinstance(ts, int):
                    ts = int(ts.timestamp() * 1000)
                ttl = (ts + RETENTION_DAYS[kind] * DAY_MS - int(time.time() * 1000)) // 1000
                own = [UNSET_VALUE if record[c] is None else record[c] for c in FIELDS[kind]]
                bucket = ts // DAY_MS // SPANS[kind]
                values = [record["user_id"], kind, bucket, ts, record["event_id"],
                          record["product_id"], record["category_id"], *own, ttl]  # fmt: skip
                key = (record["user_id"], kind, bucket)
                by_partition.setdefault(key, []).append(inserts[kind].bind(values))
            statements: list[Any] = []
            for rows in by_partition.values():  # a partition's rows as one UNLOGGED batch
                if len(rows) == 1:
                    statements.append(rows[0])
                    continue
                batch = BatchStatement(BatchType.UNLOGGED)
                for row in rows:
                    batch.add(row)
                statements.append(batch)
            requests = [(statement, None) for statement in statements]
            for ok, result in execute_concurrent(session, requests, concurrency=concurrency):
                if not ok:
                    errors.append(result)
    finally:
        consumer.close()
    if errors:
        raise RuntimeError(f"raw writes failed: {errors[0]}")
    return time.perf_counter() - started
