"""Generated configuration and settings of the local stack."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from core.settings import load_settings
from deploy.kafka import KafkaService, new_cluster_id
from deploy.redis import RedisService
from store.cql_schema import cql_statements
from store.errors import SchemaError


def test_cluster_id_is_a_base64_uuid() -> None:
    cluster_id = new_cluster_id()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_cluster_ids_never_start_with_a_dash() -> None:
    """The storage tool would read ``--cluster-id -x...`` as a missing argument (a failed fresh
    install, about one run in 64, as a CI run found)."""
    assert not any(new_cluster_id().startswith("-") for _ in range(5000))


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERSTORE_KAFKA_BOOTSTRAP_SERVERS", "kafka:29092")
    monkeypatch.setenv("INTERSTORE_CASSANDRA_CONTACT_POINTS", "a, b")
    monkeypatch.setenv("INTERSTORE_STACK_KAFKA_HEAP_MB", "256")
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "kafka:29092"
    assert settings.cassandra.hosts == ["a", "b"]
    assert settings.stack.kafka_heap_mb == 256


def test_kafka_config_is_single_node_kraft(tmp_path: Path) -> None:
    settings = load_settings().stack.model_copy(update={"var_dir": tmp_path, "kafka_port": 19092})
    properties = KafkaService(settings)._server_properties()
    assert "process.roles=broker,controller" in properties
    assert "advertised.listeners=PLAINTEXT://127.0.0.1:19092" in properties
    assert "controller.quorum.bootstrap.servers=127.0.0.1:" in properties
    assert "offsets.topic.replication.factor=1" in properties
    assert "group.initial.rebalance.delay.ms=0" in properties
    assert str(tmp_path) in properties


def test_redis_config_never_evicts_and_never_persists(tmp_path: Path) -> None:
    settings = load_settings().stack.model_copy(update={"var_dir": tmp_path, "redis_port": 16390})
    config = RedisService(settings)._config()
    assert "port 16390" in config
    assert "maxmemory-policy noeviction" in config
    assert 'save ""' in config
    assert "bind 127.0.0.1" in config


def test_cql_files_fill_in_keyspace_and_replication() -> None:
    statements = cql_statements("ks_test", 3)
    assert statements[0].startswith("CREATE KEYSPACE IF NOT EXISTS ks_test")
    assert "'replication_factor': 3" in statements[0]
    assert all("IF NOT EXISTS" in statement for statement in statements)
    assert any("ks_test.interactions" in statement for statement in statements)


@pytest.mark.parametrize("bad", ["", "ks-1", "drop keyspace x", "1ks"])
def test_cql_rejects_bad_keyspace_names(bad: str) -> None:
    with pytest.raises(SchemaError, match="not a valid CQL identifier"):
        cql_statements(bad, 1)
