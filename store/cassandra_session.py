"""Open a cassandra-driver session from settings (works for Cassandra and Scylla alike)."""

from __future__ import annotations

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)

from core.settings import CassandraSettings


def open_cluster(settings: CassandraSettings) -> Cluster:
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.local_dc)),
        request_timeout=settings.request_timeout_s,
    )
    return Cluster(
        settings.hosts,
        port=settings.port,
        protocol_version=settings.protocol_version,
        connect_timeout=settings.connect_timeout_s,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        # The driver's default backs off to 10 minutes: after an outage the worker would sit
        # idle long after the database is back.
        reconnection_policy=ExponentialReconnectionPolicy(0.5, settings.reconnect_max_s),
    )


def open_session(settings: CassandraSettings, keyspace: str | None = None) -> Session:
    """A connected session; the caller shuts down ``session.cluster`` when done."""
    cluster = open_cluster(settings)
    return cluster.connect(keyspace)
