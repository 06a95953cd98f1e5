"""What the soak runs and owns: a private ``redis-server``, a TCP proxy in front of the shared
Cassandra, its worker (restartable after a SIGKILL) and an ``interstore api`` daemon, all on the
soak's scratch topics, keyspace and key prefix."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.processes import BenchWorker, wait_assigned, wait_metrics
from benchmarks.harness.scratch import Scratch
from benchmarks.soak.plan import SoakParams
from core.settings import Settings
from deploy.app_processes import api_process, api_url, start_api
from deploy.private_redis import PrivateRedis, private_redis
from deploy.process import free_port
from deploy.tcp_proxy import TcpProxy

READ_KEY = "soak-read-key-0123456789"


@dataclass
class SoakStack:
    settings: Settings
    """The soak's own settings (scratch names, the private Redis); Cassandra direct, not proxied:
    what the checks read through."""
    scratch: Scratch
    env: dict[str, str]
    """The worker's and the API's environment: Redis private, Cassandra through the proxy."""
    workdir: Path
    redis: PrivateRedis
    proxy: TcpProxy
    worker: BenchWorker
    api_base: str
    workers_started: int = 1

    def kill_worker(self) -> int:
        pid = self.worker.pid
        self.worker.kill()
        return pid

    def start_worker(self) -> int:
        """Another worker in the killed one's place (a data dir of its own: Faust's local
        tables died with the process)."""
        self.worker = BenchWorker(self.env, self.workdir, self.workers_started)
        self.workers_started += 1
        return self.worker.start()


def _env(
    scratch: Scratch, params: SoakParams, redis_url: str, cassandra_port: int
) -> dict[str, str]:
    return {
        **scratch.worker_env(),
        "INTERSTORE_REDIS_URL": redis_url,
        "INTERSTORE_CASSANDRA_PORT": str(cassandra_port),
        "INTERSTORE_CASSANDRA_REQUEST_TIMEOUT_S": "5",
        "INTERSTORE_CASSANDRA_RECONNECT_MAX_S": "1",
        "INTERSTORE_SESSION_IDLE_S": str(params.session_idle_s),
        "INTERSTORE_SESSION_TICK_S": "0.5",
        "INTERSTORE_WORKER_RETRY_MAX_S": "2",
        "INTERSTORE_WORKER_LOG_LEVEL": "warning",
    }


@contextlib.contextmanager
def soak_stack(
    scoped: Settings, scratch: Scratch, params: SoakParams, workdir: Path
) -> Iterator[SoakStack]:
    with private_redis(workdir / "redis") as redis, TcpProxy(scoped.cassandra.port) as proxy:
        env = _env(scratch, params, redis.url, proxy.port)
        redis_settings = {"url": redis.url, "key_prefix": scratch.hot_prefix}
        settings = scoped.model_copy(
            update={"redis": scoped.redis.model_copy(update=redis_settings),
                    "cassandra": scoped.cassandra.model_copy(update={"keyspace": scratch.keyspace}),
                    "session": scoped.session.model_copy(update={"idle_s": params.session_idle_s})}
        )  # fmt: skip
        worker = BenchWorker(env, workdir, 0)
        worker.start()
        port = free_port()
        api_settings = settings.model_copy(
            update={
                "api": settings.api.model_copy(update={"host": "127.0.0.1", "port": port}),
                "stack": settings.stack.model_copy(update={"var_dir": workdir / "api"}),
            }
        )
        api_env = {
            **env,
            "INTERSTORE_API_KEYS": json.dumps({READ_KEY: ["read:interactions"]}),
            "INTERSTORE_API_DEV_MODE": "false",
            "INTERSTORE_API_HOST": "127.0.0.1",
            "INTERSTORE_API_PORT": str(port),
        }
        api = api_process(api_settings)
        stack = SoakStack(
            settings, scratch, env, workdir, redis, proxy, worker, api_url(api_settings, "")
        )
        try:
            start_api(api_settings, api_env)
            wait_metrics([worker])
            wait_assigned(
                settings, scratch.group, scratch.events_topic, scratch.partitions, worker.alive
            )
            yield stack
        finally:
            api.stop()
            stack.worker.stop()
