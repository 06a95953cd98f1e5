"""Bytes on disk per cold row: the local stack's SSTables of a scratch keyspace, once its
memtables are flushed (the scratch tables get ``memtable_flush_period_in_ms``, since the local
Cassandra runs without JMX, so no ``nodetool flush``)."""

from __future__ import annotations

import time
from pathlib import Path

from cassandra.cluster import Session

FLUSH_PERIOD_MS = 2_000
SETTLE_S = 15.0


def flush_often(session: Session, keyspace: str) -> list[str]:
    """Make every table of ``keyspace`` flush its memtable every ``FLUSH_PERIOD_MS``."""
    rows = session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,)
    )
    tables = [row.table_name for row in rows]
    for table in tables:
        session.execute(
            f"ALTER TABLE {keyspace}.{table} WITH memtable_flush_period_in_ms = {FLUSH_PERIOD_MS}"
        )
    return tables


def sstable_bytes(data_dir: Path, keyspace: str) -> dict[str, int]:
    """Bytes of each table's SSTable components (data, index, filter, stats...)."""
    sizes: dict[str, int] = {}
    for table_dir in sorted((data_dir / keyspace).glob("*-*")):
        table = table_dir.name.rsplit("-", 1)[0]
        sizes[table] = sum(p.stat().st_size for p in table_dir.glob("*.db") if p.is_file())
    return sizes


def settled_sstable_bytes(data_dir: Path, keyspace: str) -> dict[str, int]:
    """``sstable_bytes`` once two reads ``SETTLE_S`` apart agree (flushed and compacted)."""
    last: dict[str, int] = {}
    deadline = time.monotonic() + 10 * SETTLE_S
    while time.monotonic() < deadline:
        time.sleep(SETTLE_S)
        now = sstable_bytes(data_dir, keyspace)
        if now == last and any(now.values()):
            return now
        last = now
    return last
