"""`bench features-read` on a stack without the app's keyspace, as `make bench` finds a fresh
clone's (it starts the stack but applies no schema): the API the benchmark starts opens the cold
tier at start-up, so the run brings a keyspace of its own and drops it at the end."""

from __future__ import annotations

import uuid

import pytest
from cassandra.cluster import Session
from rich.console import Console

from benchmarks.features_read.plan import FeaturesReadParams
from benchmarks.features_read.run import run_features_read
from deploy.stack import LocalStack


def _keyspaces(session: Session) -> set[str]:
    rows = session.execute("SELECT keyspace_name FROM system_schema.keyspaces")
    return {row.keyspace_name for row in rows}


def test_a_run_needs_no_keyspace_of_the_app(
    stack: LocalStack, cql_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    absent = f"absent{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("INTERSTORE_CASSANDRA_KEYSPACE", absent)
    before = _keyspaces(cql_session)
    params = FeaturesReadParams(products=500, sizes=(1, 30), requests=10, warmup=2)

    result, all_ok = run_features_read(params, Console(quiet=True), Console(quiet=True))

    assert all_ok
    assert result.figures["ids_30"]["api"]["p50_ms"] > 0
    assert _keyspaces(cql_session) == before  # the run's own is gone, none was made for `absent`
