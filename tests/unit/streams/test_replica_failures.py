"""Cassandra's ReadFailure/WriteFailure (a replica's error, not a timeout) are not retried
forever under the batch lock: a write is retried a bounded number of times, then its rows are
dead-lettered as ``cold_write_refused``; a read fails loudly (ColdReadError, not Unavailable)."""

from __future__ import annotations

from collections.abc import Sequence

from cassandra import ConsistencyLevel, ReadFailure, WriteFailure, WriteType

from core.settings import RetentionSettings
from schemas.codec import default_codec
from store.cassandra_cold import _mapped
from store.errors import ColdReadError, ColdReplicaFailure, ColdStoreUnavailable, ColdWriteError
from store.interactions import Interaction
from store.memory_cold import InMemoryColdStore
from streams.dead_letters import InMemoryDeadLetterSink
from streams.ingest import IngestPipeline, RetryPolicy
from streams.metrics import WorkerMetrics
from tests.unit.streams.test_ingest_pipeline import NOW_MS, click, message


class FailingReplicas(InMemoryColdStore):
    """Answers every write containing one event id with a replica failure."""

    def __init__(self, failing_event_id: str) -> None:
        super().__init__(RetentionSettings(), clock=lambda: NOW_MS)
        self.failing_event_id = failing_event_id
        self.attempts = 0

    async def write_many(self, interactions: Sequence[Interaction]) -> None:
        if any(i.event_id == self.failing_event_id for i in interactions):
            self.attempts += 1
            raise ColdReplicaFailure("WriteFailure: 1 replica failed")
        await super().write_many(interactions)


async def test_a_write_replicas_keep_failing_is_dead_lettered_after_bounded_attempts() -> None:
    cold = FailingReplicas("bad")
    sink = InMemoryDeadLetterSink()
    ingest = IngestPipeline(
        default_codec(), cold, sink, WorkerMetrics(),
        retry=RetryPolicy(0.001, 0.002, replica_failure_attempts=3), clock_ms=lambda: NOW_MS,
    )  # fmt: skip
    await ingest.process([message(click("ok1")), message(click("bad")), message(click("ok2"))])
    assert [letter.reason for letter in sink.letters] == ["cold_write_refused"]
    assert sorted(i.event_id for i in await cold.recent("u1", now_ms=NOW_MS)) == ["ok1", "ok2"]
    assert cold.attempts == 3 + 3  # the batch's attempts, then the row's alone


def test_replica_failures_are_not_mapped_as_unavailable() -> None:
    common = {"consistency": ConsistencyLevel.LOCAL_QUORUM, "required_responses": 1}
    write = WriteFailure("w", write_type=WriteType.SIMPLE, failures=1, **common)
    read = ReadFailure("r", data_retrieved=False, failures=1, **common)
    assert type(_mapped(write, "write", ColdWriteError)) is ColdReplicaFailure
    assert type(_mapped(read, "read", ColdReadError)) is ColdReadError
    assert not isinstance(_mapped(read, "read", ColdReadError), ColdStoreUnavailable)
