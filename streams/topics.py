"""The event topic and its dead-letter topic: created by code, checked before use.

The events topic carries every kind of a user's events, keyed by user id, so its partition count
is part of the contract: a key's partition is ``hash(key) % partitions``. Changing it moves users
to other partitions (their order across the change is lost) and breaks co-partitioning with any
topic keyed the same way. So ``ensure_topics`` creates what is missing and refuses, loudly, to
carry on with an events topic of another partition count; it never repartitions anything.

Kafka brokers create unknown topics on first use by default (one partition): producers check
that their topic exists rather than let that happen (see ``require_topic``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource  # re-exported without __all__
from confluent_kafka.cimpl import NewTopic

from core.errors import InterstoreError
from core.settings import KafkaSettings, TopicSettings

DEFAULT_TIMEOUT_S = 30.0


class TopicError(InterstoreError):
    """A topic is missing, has the wrong shape, or the broker refused an admin request."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """What a topic should look like."""

    name: str
    partitions: int
    replication_factor: int
    retention_ms: int
    strict_partitions: bool
    """True when another partition count is an error (keyed topics), not just a difference."""

    @property
    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": "delete"}


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What a topic looks like on the broker."""

    name: str
    partitions: int
    replication_factor: int
    retention_ms: int | None
    cleanup_policy: str | None


def topic_specs(topics: TopicSettings) -> list[TopicSpec]:
    """The events topic (strict partition count) and the dead-letter topic."""
    return [
        TopicSpec(
            topics.events,
            topics.partitions,
            topics.replication_factor,
            topics.retention_ms,
            strict_partitions=True,
        ),
        # Dead letters are read by people and replay tools, not joined by key: another
        # partition count there changes nothing about ordering, so it is tolerated.
        TopicSpec(
            topics.dead_letters,
            topics.partitions,
            topics.replication_factor,
            topics.dead_letter_retention_ms,
            strict_partitions=False,
        ),
    ]


def admin_client(kafka: KafkaSettings) -> AdminClient:
    return AdminClient({"bootstrap.servers": kafka.bootstrap_servers})


def delete_topics_with_prefixes(kafka: KafkaSettings, prefixes: Iterable[str]) -> list[str]:
    """Delete every topic whose name starts with one of ``prefixes`` (Faust's own topics of an
    app id included); the names deleted. A topic gone meanwhile is not an error."""
    admin = admin_client(kafka)
    starts = tuple(prefixes)
    names = [n for n in admin.list_topics(timeout=DEFAULT_TIMEOUT_S).topics if n.startswith(starts)]
    if not names:  # no prefixes: none either
        return []
    for name, future in admin.delete_topics(names, operation_timeout=DEFAULT_TIMEOUT_S).items():
        try:
            future.result(timeout=2 * DEFAULT_TIMEOUT_S)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise TopicError(f"cannot delete topic {name}: {exc.args[0]}") from exc
    return names


def partition_counts(
    client: AdminClient | Producer, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, int]:
    """Partition count of every topic the broker knows (a metadata request for all topics:
    asking for one named topic could make the broker auto-create it)."""
    try:
        metadata = client.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise TopicError(f"cannot read topic metadata: {exc.args[0]}") from exc
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def ensure_topics(
    kafka: KafkaSettings,
    topics: TopicSettings,
    *,
    extra: Sequence[TopicSpec] = (),
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[str]:
    """Create the events and dead-letter topics (and ``extra`` ones, such as the features
    worker's repartition topic) if missing; return the names created.

    Idempotent. Raises ``TopicError`` if the events topic exists with a partition count other
    than ``topics.partitions``, or if the broker refuses a creation.
    """
    admin = admin_client(kafka)
    specs = [*topic_specs(topics), *extra]
    existing = partition_counts(admin, timeout_s)
    for spec in specs:
        _check_partitions(spec, existing.get(spec.name))
    missing = [spec for spec in specs if spec.name not in existing]
    if not missing:
        return []
    created = _create(admin, missing, timeout_s)
    # Creation returns once the controller has the topic; brokers learn of it a moment later.
    # Wait until every partition has a leader, so a producer started next finds the topic.
    visible = wait_until_led(admin, [spec.name for spec in missing], timeout_s)
    for spec in missing:
        _check_partitions(spec, visible[spec.name])  # a topic someone else created meanwhile
    return created


def _create(admin: AdminClient, specs: list[TopicSpec], timeout_s: float) -> list[str]:
    """Create topics; return those created here (not those another client created first)."""
    futures = admin.create_topics(
        [NewTopic(s.name, s.partitions, s.replication_factor, config=s.config) for s in specs],
        request_timeout=timeout_s,
    )
    created: list[str] = []
    for spec in specs:
        try:
            futures[spec.name].result(timeout=timeout_s)
            created.append(spec.name)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise TopicError(f"cannot create topic {spec.name}: {error.str()}") from exc
    return created


def wait_until_led(admin: AdminClient, names: list[str], timeout_s: float) -> dict[str, int]:
    """Partition counts of ``names`` once each of their partitions has a leader."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            metadata = admin.list_topics(timeout=timeout_s).topics
        except KafkaException as exc:
            raise TopicError(f"cannot read topic metadata: {exc.args[0]}") from exc
        ready = {
            name: len(topic.partitions)
            for name in names
            if (topic := metadata.get(name)) is not None
            and topic.error is None
            and topic.partitions
            and all(p.leader >= 0 and p.error is None for p in topic.partitions.values())
        }
        if len(ready) == len(names):
            return ready
        if time.monotonic() > deadline:
            waiting = sorted(set(names) - set(ready))
            raise TopicError(f"topics {waiting} have no leader after {timeout_s:.0f}s")
        time.sleep(0.1)


def _check_partitions(spec: TopicSpec, actual: int | None) -> None:
    if actual is None or actual == spec.partitions or not spec.strict_partitions:
        return
    raise TopicError(
        f"topic {spec.name} has {actual} partitions, the configuration says {spec.partitions}: "
        "events are keyed by user id, so the partition count decides each user's partition "
        "(and co-partitioning); fix INTERSTORE_TOPICS_PARTITIONS or migrate the topic"
    )


def require_topic(partitions: dict[str, int], name: str) -> int:
    """The partition count of ``name``; ``TopicError`` if the broker does not have it."""
    count = partitions.get(name)
    if count is None:
        raise TopicError(
            f"topic {name} does not exist; create it with `interstore topics create` "
            "(an auto-created topic would have the broker's default partition count)"
        )
    return count


def describe_topics(
    kafka: KafkaSettings, names: Iterable[str], *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, TopicInfo | None]:
    """Partitions, replication and retention of each named topic; None for a missing one."""
    admin = admin_client(kafka)
    try:
        metadata = admin.list_topics(timeout=timeout_s).topics
    except KafkaException as exc:
        raise TopicError(f"cannot read topic metadata: {exc.args[0]}") from exc
    found: dict[str, TopicInfo | None] = {}
    for name in names:
        topic = metadata.get(name)
        if topic is None:
            found[name] = None
            continue
        config = _topic_config(admin, name, timeout_s)
        replicas = max((len(p.replicas) for p in topic.partitions.values()), default=0)
        retention = config.get("retention.ms")
        found[name] = TopicInfo(
            name=name,
            partitions=len(topic.partitions),
            replication_factor=replicas,
            retention_ms=int(retention) if retention is not None else None,
            cleanup_policy=config.get("cleanup.policy"),
        )
    return found


def _topic_config(admin: AdminClient, name: str, timeout_s: float) -> dict[str, str | None]:
    resource = ConfigResource("topic", name)
    try:
        entries = admin.describe_configs([resource], request_timeout=timeout_s)[resource].result(
            timeout=timeout_s
        )
    except KafkaException as exc:
        raise TopicError(f"cannot read the configuration of {name}: {exc.args[0]}") from exc
    return {key: entry.value for key, entry in entries.items()}
