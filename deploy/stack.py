"""Bring the local stack up, down, and tell its state."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from core.settings import StackSettings
from deploy.cassandra import CassandraService
from deploy.errors import PortInUseError
from deploy.kafka import KafkaService
from deploy.process import port_in_use, port_owner, wait_until_ready
from deploy.redis import RedisService
from deploy.redis_cluster import cluster_nodes, form_cluster
from deploy.service import LocalService

Report = Callable[[str], None]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # "ready", "starting" (ours, not answering yet), "stopped"
    port: int
    pid: int | None
    rss_bytes: int | None


@dataclass(frozen=True)
class UpResult:
    name: str
    started: bool  # False: it was already running
    seconds: float  # time to ready from process start (or to the probe, when already running)


def _quiet(_: str) -> None:
    pass


class LocalStack:
    """Kafka, Cassandra and Redis as processes of this machine, started in parallel; with
    ``redis_cluster`` also the primaries of a local Redis Cluster, formed once they answer."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.cluster_nodes = cluster_nodes(settings)
        self.services: list[LocalService] = [
            RedisService(settings),
            KafkaService(settings),
            CassandraService(settings),
        ]
        if settings.redis_cluster:
            self.services += self.cluster_nodes

    def fetch(self, report: Report = _quiet) -> None:
        """Fetch artifacts and write configs for every service, without starting anything."""
        for service in self.services:
            report(f"preparing {service.name}")
            service.prepare()

    def up(self, report: Report = _quiet) -> list[UpResult]:
        """Start what is not running and wait until every service answers. Idempotent."""
        to_start = [s for s in self.services if s.process.pid() is None]
        for service in to_start:
            self._check_ports_free(service)
        for service in to_start:
            report(f"preparing {service.name}")
            service.prepare()
        started_at: dict[str, float] = {}
        for service in to_start:
            spec = service.launch_spec()
            report(f"starting {service.name}")
            service.process.start(spec.argv, spec.env, spec.cwd)
            started_at[service.name] = time.monotonic()

        def wait(service: LocalService) -> UpResult:
            waited = wait_until_ready(
                service.probe, timeout_s=self.settings.ready_timeout_s, process=service.process
            )
            began = started_at.get(service.name)
            seconds = time.monotonic() - began if began is not None else waited
            report(f"{service.name} ready in {seconds:.1f}s")
            return UpResult(service.name, service.name in started_at, seconds)

        with ThreadPoolExecutor(max_workers=len(self.services)) as pool:
            futures = [pool.submit(wait, service) for service in self.services]
            results = [future.result() for future in futures]
        if self.settings.redis_cluster:
            form_cluster([node.port for node in self.cluster_nodes])
            report(f"redis cluster formed on ports {[n.port for n in self.cluster_nodes]}")
        return results

    def down(self, report: Report = _quiet) -> list[str]:
        """Stop, in reverse order, only the processes ``up`` started (found by pid file), the
        Redis Cluster's nodes too whether or not this stack was asked for them."""
        stopped = []
        extra = [node for node in self.cluster_nodes if node not in self.services]
        for service in [*reversed(self.services), *extra]:
            if service.process.stop():
                report(f"stopped {service.name}")
                stopped.append(service.name)
        return stopped

    def status(self) -> list[ServiceStatus]:
        running = [n for n in self.cluster_nodes if n not in self.services and n.process.pid()]
        return [self._status(service) for service in [*self.services, *running]]

    @staticmethod
    def _status(service: LocalService) -> ServiceStatus:
        pid = service.process.pid()
        state = "stopped"
        if pid is not None:
            try:
                service.probe()
                state = "ready"
            except Exception:  # noqa: BLE001 - not answering yet
                state = "starting"
        return ServiceStatus(
            service.name, state, service.primary_port, pid, service.process.rss_bytes()
        )

    @staticmethod
    def _check_ports_free(service: LocalService) -> None:
        for role, port in service.ports().items():
            if port_in_use(port):
                setting = f"INTERSTORE_STACK_{service.name.upper()}_PORT"
                raise PortInUseError(
                    f"cannot start {service.name}: port {port} ({role}) is already in use by "
                    f"{port_owner(port)}; stop it, or choose another port ({setting} and friends)"
                )
