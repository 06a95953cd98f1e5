"""A private 3-primary Redis Cluster on free ports in a test's own folder: the shared Redis is
never touched. ``restart_empty(i)`` restarts one node without its data (it keeps its slots):
a node lost mid-session. Stopped by the fixture that started it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from core.settings import RedisSettings
from deploy.process import free_port, port_in_use
from deploy.redis_cluster import HOST, form_cluster, node_config


class PrivateRedisCluster:
    def __init__(self, workdir: Path, *, nodes: int = 3) -> None:
        self.workdir = workdir
        self.ports = [self._free_pair() for _ in range(nodes)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @staticmethod
    def _free_pair() -> int:
        """A free port whose cluster bus port (port + 10000) is free too."""
        while True:
            port = free_port()
            if port + 10000 < 65536 and not port_in_use(port + 10000):
                return port

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.ports[0]}/0"

    def settings(self, **update: object) -> RedisSettings:
        return RedisSettings(url=self.url, cluster=True, **update)  # type: ignore[arg-type]

    def _start_node(self, port: int) -> None:
        folder = self.workdir / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "redis.conf"
        conf.write_text(node_config(port, folder))
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        with (folder / "redis.log").open("ab") as log:
            self.procs[port] = subprocess.Popen(
                [server, str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.procs[port].poll() is None:
            try:
                with redis.Redis(host=HOST, port=port) as probe:
                    if probe.ping():
                        return
            except redis.ConnectionError:
                time.sleep(0.05)
        log = (folder / "redis.log").read_text()[-2000:]
        raise RuntimeError(f"private cluster node on {port} did not start:\n{log}")

    def start(self) -> None:
        for port in self.ports:
            self._start_node(port)
        form_cluster(self.ports)

    def _stop_node(self, port: int) -> None:
        proc = self.procs.pop(port, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)

    def restart_empty(self, index: int) -> None:
        """Node ``index`` stops and comes back with no keys and the same slots."""
        port = self.ports[index]
        self._stop_node(port)
        self._start_node(port)
        form_cluster(self.ports)  # waits until the cluster is whole again

    def node_of(self, key: str) -> int:
        """The index of the node that holds ``key``'s slot."""
        with redis.Redis(host=HOST, port=self.ports[0]) as client:
            slot = int(client.execute_command("CLUSTER KEYSLOT", key))
            for first, last, (_, port, *_), *_ in client.execute_command("CLUSTER SLOTS"):
                if first <= slot <= last:
                    return self.ports.index(int(port))
        raise LookupError(key)

    def stop(self) -> None:
        for port in list(self.procs):
            self._stop_node(port)


@contextmanager
def private_redis_cluster(workdir: Path) -> Iterator[PrivateRedisCluster]:
    cluster = PrivateRedisCluster(workdir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
