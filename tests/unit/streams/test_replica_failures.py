"""Cassandra's ReadFailure/WriteFailure (a replica's error, not a timeout) are not retried
forever under the batch lock: a write is retried a bounded number of times, then its rows are
dead-lettered as ``cold_write_refused``; a read fails loudly (ColdReadError, not Unavailable)."""

from __future__ import annotations

from collections.abc import Sequence

from cassandra import ConsistencyLevel, ReadFailure, WriteFailure, WriteType

from core.settings import RetentionSettings
from store.cassandra_errors import mapped as _mapped
from store.errors import ColdReadError, ColdReplicaFailure, ColdStoreUnavailable, ColdWriteError
from store.interactions import Interaction
from tests.support.memory_cold import InMemoryColdStore
from tests.unit.streams.test_ingest_pipeline import NOW_MS, click, message
from tests.unit.streams.world import World


class FailingReplicas(InMemoryColdStore):
    """Answers every write containing one event id with a replica failure."""

    def __init__(self, failing_event_id: str) -> None:
        super().__init__(RetentionSettings(), clock=lambda: NOW_MS)
        self.failing_event_id = failing_event_id
        self.attempts = 0

    async def write_many(self, interactions: Sequence[Interaction]) -> int:
        if any(i.event_id == self.failing_event_id for i in interactions):
            self.attempts += 1
            raise ColdReplicaFailure("WriteFailure: 1 replica failed")
        return await super().write_many(interactions)


async def test_a_write_replicas_keep_failing_is_dead_lettered_after_bounded_attempts() -> None:
    cold = FailingReplicas("bad")
    world = World(cold=cold)  # replica_failure_attempts: the default, 5
    batch = [message(click("ok1")), message(click("bad")), message(click("ok2"))]
    await world.pipeline.process(batch)
    assert [letter.reason for letter in world.dead_letters.letters] == ["cold_write_refused"]
    assert sorted(i.event_id for i in await cold.recent("u1", now_ms=NOW_MS)) == ["ok1", "ok2"]
    assert cold.attempts == 5 + 5  # the batch's attempts, then the row's alone


def test_replica_failures_are_not_mapped_as_unavailable() -> None:
    common = {"consistency": ConsistencyLevel.LOCAL_QUORUM, "required_responses": 1}
    write = WriteFailure("w", write_type=WriteType.SIMPLE, failures=1, **common)
    read = ReadFailure("r", data_retrieved=False, failures=1, **common)
    assert type(_mapped(write, "write", ColdWriteError)) is ColdReplicaFailure
    assert type(_mapped(read, "read", ColdReadError)) is ColdReadError
    assert not isinstance(_mapped(read, "read", ColdReadError), ColdStoreUnavailable)
