"""A Faust worker (faust-streaming + aiokafka) consumes from and produces to the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer

from core.settings import Settings
from deploy.stack import LocalStack
from tests.integration.test_stack_services import create_topic

ECHO_APP = Path(__file__).with_name("faust_echo_app.py")


def test_faust_agent_round_trip(
    stack: LocalStack, settings: Settings, unique_name: str, tmp_path: Path
) -> None:
    source, sink = f"{unique_name}-in", f"{unique_name}-out"
    create_topic(settings, source)
    create_topic(settings, sink)
    env = {
        **os.environ,
        "ECHO_APP_ID": unique_name,
        "ECHO_BOOTSTRAP": settings.kafka.bootstrap_servers,
        "ECHO_DATADIR": str(tmp_path / "faust"),
        "ECHO_IN": source,
        "ECHO_OUT": sink,
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, str(ECHO_APP), "worker", "--loglevel", "warn", "--without-web"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
        sent = {f"event-{i}".encode() for i in range(200)}
        for i, value in enumerate(sorted(sent)):
            producer.produce(source, key=f"user-{i % 11}".encode(), value=value)
        assert producer.flush(30) == 0

        consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka.bootstrap_servers,
                "group.id": f"{unique_name}-check",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([sink])
        received: set[bytes] = set()
        deadline = time.monotonic() + 120
        try:
            while received != sent and time.monotonic() < deadline:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                for message in consumer.consume(num_messages=200, timeout=1.0):
                    assert message.error() is None
                    received.add(message.value())
        finally:
            consumer.close()
        assert received == sent, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
