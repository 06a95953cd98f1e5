"""The repartition topic through a confluent-kafka producer: the batch host's ``Outbox``.

Idempotent, ``acks=all``: the broker writes each record once, in order per partition, whatever
the retries (the entity fences rely on a source partition's entries arriving in order). A batch
counts as done only once its delivery check passed (``streams.features.handling``), as the Faust
app's ``await delivery`` did: the check flushes the producer on a thread and raises
``RepartitionUndelivered`` if any record was refused or the flush timed out. One user-side batch
is in flight at a time, so a flush waits for that batch's records only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Producer

from core.errors import InterstoreError
from core.settings import KafkaSettings
from streams.features.handling import Delivered


class RepartitionUndelivered(InterstoreError):
    """The repartition topic did not take a record: the batch is not done."""


class KafkaOutbox:
    def __init__(self, kafka: KafkaSettings, topic: str, *, timeout_s: float = 30.0) -> None:
        self.topic = topic
        self.timeout_s = timeout_s
        self._producer = Producer(
            {
                "bootstrap.servers": kafka.bootstrap_servers,
                "client.id": f"{topic}-producer",
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 2,
            }
        )

    async def send(self, records: Sequence[tuple[int, bytes, bytes]]) -> Delivered:
        failures: list[str] = []

        def on_delivery(error: Any, message: Any) -> None:  # on the flushing thread
            if error is not None:
                failures.append(str(error))

        for partition, key, value in records:
            self._producer.produce(
                self.topic, value, key, partition=partition, on_delivery=on_delivery
            )

        async def delivered() -> None:
            if not records:
                return
            left = await asyncio.to_thread(self._producer.flush, self.timeout_s)
            if left or failures:
                raise RepartitionUndelivered(
                    f"records not delivered to {self.topic}: {failures[:3] or 'flush timed out'}"
                )

        return delivered

    async def close(self) -> None:
        """Deliver what is queued (a clean stop)."""
        await asyncio.to_thread(self._producer.flush, self.timeout_s)
