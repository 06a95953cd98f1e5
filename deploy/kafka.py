"""Apache Kafka as one combined KRaft broker+controller, run from Maven Central jars."""

from __future__ import annotations

import base64
import subprocess
import uuid

from confluent_kafka.admin import AdminClient

from core.settings import StackSettings
from deploy.errors import NotReadyError, StackError
from deploy.java import find_java17
from deploy.maven import fetch_libs
from deploy.service import LaunchSpec, LocalService

HOST = "127.0.0.1"
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
PROBE_TIMEOUT_S = 3.0

# The kafka_2.13 artifact brings no logging binding; the pom adds log4j2 + its slf4j 1.x binding.
LOG4J2_XML = """\
<Configuration status="WARN">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.storage.internals.log" level="WARN"/>
    <Logger name="kafka.log" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
"""


def new_cluster_id() -> str:
    """What ``StorageTool random-uuid`` prints: a UUID, URL-safe base64, unpadded, never starting
    with ``-`` (Kafka's ``Uuid.randomUuid`` draws again then too: the storage tool's argument
    parser would read such an id as an option, and the format fails about once in 64 runs)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaService(LocalService):
    """One KRaft node (broker and controller) on 127.0.0.1; data and logs under ``var/kafka``."""

    name = "kafka"

    def __init__(self, settings: StackSettings) -> None:
        super().__init__(settings)
        self.conf_dir = self.home / "conf"
        self.data_dir = self.home / "data"
        self.lib_dir = settings.cache_dir / f"kafka-{settings.kafka_version}" / "libs"

    def ports(self) -> dict[str, int]:
        return {
            "broker": self.settings.kafka_port,
            "controller": self.settings.kafka_controller_port,
        }

    def prepare(self) -> None:
        fetch_libs(
            "kafka",
            {"kafka.version": self.settings.kafka_version},
            self.settings.cache_dir,
            self.lib_dir,
        )
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "server.properties").write_text(self._server_properties())
        (self.conf_dir / "log4j2.xml").write_text(LOG4J2_XML)
        if not (self.data_dir / "meta.properties").exists():
            self._format_storage()

    def launch_spec(self) -> LaunchSpec:
        return LaunchSpec(
            argv=[*self._java_command(), BROKER_MAIN, str(self.conf_dir / "server.properties")],
            cwd=self.home,
        )

    def probe(self) -> None:
        admin = AdminClient(
            # log_level 0: no librdkafka "connection refused" noise while the broker starts
            {"bootstrap.servers": f"{HOST}:{self.settings.kafka_port}", "log_level": 0}
        )
        metadata = admin.list_topics(timeout=PROBE_TIMEOUT_S)
        if not metadata.brokers:
            raise NotReadyError(f"kafka on {HOST}:{self.settings.kafka_port} lists no broker")

    def _java_command(self) -> list[str]:
        heap_mb = self.settings.kafka_heap_mb
        return [
            str(find_java17(self.settings.java_home)),
            f"-Xms{min(128, heap_mb)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:MaxMetaspaceSize=128m",
            "-XX:+PerfDisableSharedMem",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Djava.io.tmpdir={self.home / 'tmp'}",
            f"-Dlog4j2.configurationFile={(self.conf_dir / 'log4j2.xml').as_uri()}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            f"{self.lib_dir}/*",
        ]

    def _format_storage(self) -> None:
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        argv = [
            *self._java_command(),
            STORAGE_TOOL,
            "format",
            "--cluster-id",
            new_cluster_id(),
            "--config",
            str(self.conf_dir / "server.properties"),
            "--standalone",  # goes with controller.quorum.bootstrap.servers
            "--ignore-formatted",
        ]
        result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=self.home)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            raise StackError(
                f"formatting Kafka storage in {self.data_dir} failed: "
                f"{output[-1] if output else 'exit code ' + str(result.returncode)}"
            )

    def _server_properties(self) -> str:
        s = self.settings
        broker = f"{HOST}:{s.kafka_port}"
        controller = f"{HOST}:{s.kafka_controller_port}"
        return f"""\
# Generated by deploy/kafka.py on each prepare; edits are overwritten.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://{broker},CONTROLLER://{controller}
advertised.listeners=PLAINTEXT://{broker}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
controller.quorum.bootstrap.servers={controller}
inter.broker.listener.name=PLAINTEXT
log.dirs={self.data_dir}
num.partitions=1
num.network.threads=2
num.io.threads=4
# One node: internal topics cannot have more replicas than brokers.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=67108864
log.retention.hours=168
"""
