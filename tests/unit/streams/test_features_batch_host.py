"""The features batch host's acks, shards and batch windows (no broker): a handled batch's ack
is held until a settle (the durable flush), an ack held across a lost assignment is dropped, the
shards it owns are those of each side whose assignment is settled, and each side fills its
batches within its own window."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from core.settings import Settings
from store.deferred_feature_state import DeferredStateStore
from streams.batch_worker import consumer_config as worker_consumer_config
from streams.features.batch_host import FeaturesBatchHost, consumer_config
from streams.features.handling import Delivered
from streams.features.metrics import FeatureMetrics
from streams.messages import RawMessage
from tests.support.memory_feature_state import MemoryDurable


class NoOutbox:
    async def send(self, records: Sequence[tuple[int, bytes, bytes]]) -> Delivered:
        async def delivered() -> None:
            return None

        return delivered

    async def close(self) -> None:
        return None


def host() -> FeaturesBatchHost:
    updater: Any = SimpleNamespace(durable=DeferredStateStore(MemoryDurable()))
    return FeaturesBatchHost(Settings(), updater, FeatureMetrics(), outbox=NoOutbox())


def messages(count: int) -> list[RawMessage]:
    return [RawMessage("events", 0, offset, b"u", b"v") for offset in range(count)]


async def test_acks_are_held_until_settled_then_given_in_order() -> None:
    features = host()
    acked: list[str] = []

    async def handle(batch: Sequence[RawMessage]) -> None:
        return None

    handlers = features._handlers(features.events, handle)
    await handlers.assigned()
    for name in ("first", "second"):

        async def ack(name: str = name) -> None:
            acked.append(name)

        await handlers.run_batch(messages(3), ack)
    assert acked == []
    assert features.held.count == 6
    assert handlers.settle is not None
    await handlers.settle()
    assert acked == ["first", "second"]


async def test_an_ack_held_across_a_new_assignment_is_dropped() -> None:
    features = host()
    acked: list[str] = []

    async def handle(batch: Sequence[RawMessage]) -> None:
        return None

    async def ack() -> None:
        acked.append("old")

    handlers = features._handlers(features.entities, handle)
    await handlers.assigned()
    await handlers.run_batch(messages(2), ack)
    await handlers.assigned()  # the settle at the revocation failed; a new assignment came
    await features.held.flush()
    assert acked == []


def test_the_owned_shards_are_those_of_settled_sides() -> None:
    features = host()
    assert features.rebalancing
    assert features.owned() == []
    features.events._owned = {0, 2}
    features.events.rebalancing = False
    assert features.owned() == ["u0", "u2"]
    assert features.rebalancing  # the entity side has not settled yet
    features.entities._owned = {1}
    features.entities.rebalancing = False
    assert features.owned() == ["e1", "u0", "u2"]
    assert not features.rebalancing


def test_each_side_waits_its_own_window_to_fill_a_batch() -> None:
    features = host()
    conf = Settings().features_worker
    assert features.events.batch_within_s == conf.batch_within_s
    assert features.entities.batch_within_s == conf.entity_batch_within_s
    assert conf.entity_batch_within_s < conf.batch_within_s  # a burst, not a second window


def test_both_sides_and_the_ingest_worker_fetch_in_batches_bounded_by_their_own_wait() -> None:
    settings = Settings()
    for side in ("events", "entities"):
        config = consumer_config(settings, side)
        assert config["fetch.min.bytes"] == settings.kafka.fetch_min_bytes > 1
        assert config["fetch.wait.max.ms"] == settings.features_worker.fetch_wait_max_ms
    ingest = worker_consumer_config(settings)
    assert ingest["fetch.min.bytes"] == settings.kafka.fetch_min_bytes
    assert ingest["fetch.wait.max.ms"] == settings.worker.fetch_wait_max_ms
    # an app_open waits for its fetch: the ingest worker's wait is the shorter
    assert settings.worker.fetch_wait_max_ms < settings.features_worker.fetch_wait_max_ms
