"""The processes of `interstore bench matrix`: a private ``redis-server`` (a free port, no
persistence, only this run's values; stopped at the end) and an ``interstore api`` daemon on
it with the benchmark's models folder and a scratch key."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis import Redis
from redis.exceptions import RedisError

from benchmarks.harness.errors import BenchError
from deploy.process import free_port

PREFIX = "bm"
"""The feature key prefix of the benchmark's values."""


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_redis(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _wait_redis(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise BenchError(f"redis-server on port {port} exited ({proc.returncode})")
        with contextlib.suppress(RedisError), Redis(port=port) as client:
            if client.ping():
                return
        if time.monotonic() > deadline:
            raise BenchError(f"redis-server on port {port} did not answer within 20 s")
        time.sleep(0.1)


@dataclass(frozen=True, slots=True)
class RunningApi:
    url: str
    pid: int


@contextlib.contextmanager
def running_api(
    workdir: Path, redis_url: str, models_dir: Path, key: str, keyspace: str
) -> Iterator[RunningApi]:
    port = free_port()
    env = {
        **os.environ,
        "INTERSTORE_REDIS_URL": redis_url,
        "INTERSTORE_CASSANDRA_KEYSPACE": keyspace,
        "INTERSTORE_FEATURES_KEY_PREFIX": PREFIX,
        "INTERSTORE_MODELS_PATH": str(models_dir),
        "INTERSTORE_MODELS_POLL_S": "0",
        "INTERSTORE_API_PORT": str(port),
        "INTERSTORE_API_KEYS": json.dumps({key: ["read:features"]}),
        "INTERSTORE_API_LOG_LEVEL": "warning",
    }
    log = (workdir / "api.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "interstore.cli", "api"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise BenchError(
                    f"interstore api exited: {(workdir / 'api.log').read_text()[-2000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise BenchError("interstore api did not answer /healthz within 60 s")
            time.sleep(0.3)
        yield RunningApi(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
