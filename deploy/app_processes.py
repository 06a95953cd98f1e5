"""interstore's own long-running processes (the worker), run as local daemons like the stack."""

from __future__ import annotations

import sys

import httpx

from deploy.process import ManagedProcess, wait_until_ready
from interstore.settings import Settings

WORKER_READY_TIMEOUT_S = 120.0


def worker_process(settings: Settings) -> ManagedProcess:
    home = settings.stack.var_dir / "worker"
    return ManagedProcess(
        "worker", home / "worker.pid", home / "logs" / "worker.out", marker="interstore.cli"
    )


def worker_url(settings: Settings, path: str) -> str:
    host = "127.0.0.1" if settings.worker.web_bind in ("0.0.0.0", "") else settings.worker.web_bind  # noqa: S104
    return f"http://{host}:{settings.worker.web_port}{path}"


def start_worker(settings: Settings) -> tuple[ManagedProcess, bool]:
    """Start ``interstore worker`` in the background unless it runs; wait until it answers.

    Returns the process and whether this call started it.
    """
    process = worker_process(settings)
    started = process.pid() is None
    if started:
        home = settings.stack.var_dir / "worker"
        home.mkdir(parents=True, exist_ok=True)
        process.start([sys.executable, "-m", "interstore.cli", "worker"], {}, home)

    def probe() -> None:
        httpx.get(worker_url(settings, "/healthz"), timeout=2).raise_for_status()

    wait_until_ready(probe, timeout_s=WORKER_READY_TIMEOUT_S, process=process)
    return process, started
