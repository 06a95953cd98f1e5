"""Integration fixtures: the real local stack, started once per session (or reused if running).

Each test gets its own topic names and its own keyspace, so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from cassandra.cluster import Session

from core.settings import Settings, load_settings
from deploy.stack import LocalStack
from store.cassandra_session import open_session
from store.cql_schema import apply_schema


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[LocalStack]:
    """Bring the stack up once; stop at the end only what this session started."""
    local = LocalStack(settings.stack)
    results = local.up()
    yield local
    if any(r.started for r in results):
        local.down()


@pytest.fixture
def unique_name() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def cql_session(stack: LocalStack, settings: Settings) -> Iterator[Session]:
    session = open_session(settings.cassandra)
    yield session
    session.cluster.shutdown()


@pytest.fixture
def keyspace(cql_session: Session, unique_name: str) -> Iterator[str]:
    """A fresh keyspace with the project's schema applied, dropped afterwards."""
    apply_schema(cql_session, unique_name, replication_factor=1)
    yield unique_name
    cql_session.execute(f"DROP KEYSPACE IF EXISTS {unique_name}", timeout=60)
