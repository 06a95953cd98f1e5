"""A private ``redis-server`` for fault tests and the soak (``interstore soak``): the shared one
is never filled, flipped to a replica, blocked or restarted. No persistence; stopped by whoever
started it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from deploy.process import free_port


class PrivateRedis:
    def __init__(self, workdir: Path, *, maxmemory: str | None = None, port: int | None = None):
        self.workdir = workdir
        self.maxmemory = maxmemory
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self._client: redis.Redis | None = None

    def start(self) -> None:
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        args = [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += [
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--maxmemory-policy",
            "noeviction",
        ]
        if self.maxmemory:
            args += ["--maxmemory", self.maxmemory]
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / f"redis-{self.port}.log").open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with redis.Redis(host="127.0.0.1", port=self.port) as probe:
                    if probe.ping():
                        return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"private redis-server on {self.port} did not start")

    def client(self) -> redis.Redis:
        """A client of this server (one per instance; closed by ``stop``)."""
        if self._client is None:
            self._client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)
        return self._client

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart_empty(self) -> None:
        self.stop()
        self.start()

    def fill(self) -> int:
        """Write junk keys until the server answers OOM, big ones then small ones (a big
        request's own buffer counts as used memory until it is freed); returns how many."""
        written = 0
        for chunk in (64 * 1024, 1024, 64):
            while True:
                try:
                    self.client().set(f"junk:{written}", b"x" * chunk)
                except redis.exceptions.OutOfMemoryError:
                    break
                written += 1
        return written

    def drain(self) -> None:
        """Delete the junk ``fill`` wrote: memory frees."""
        client = self.client()
        keys = list(client.scan_iter(match="junk:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


@contextmanager
def private_redis(workdir: Path, *, maxmemory: str | None = None) -> Iterator[PrivateRedis]:
    server = PrivateRedis(workdir, maxmemory=maxmemory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
