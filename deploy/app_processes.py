"""interstore's own long-running processes (the worker, the read API), run as local daemons
like the stack."""

from __future__ import annotations

import sys

import httpx

from deploy.process import ManagedProcess, wait_until_ready
from interstore.settings import Settings

WORKER_READY_TIMEOUT_S = 120.0
API_READY_TIMEOUT_S = 60.0


def worker_process(settings: Settings) -> ManagedProcess:
    home = settings.stack.var_dir / "worker"
    return ManagedProcess(
        "worker", home / "worker.pid", home / "logs" / "worker.out", marker="interstore.cli"
    )


def worker_url(settings: Settings, path: str) -> str:
    host = "127.0.0.1" if settings.worker.web_bind in ("0.0.0.0", "") else settings.worker.web_bind  # noqa: S104
    return f"http://{host}:{settings.worker.web_port}{path}"


def start_worker(
    settings: Settings, env: dict[str, str] | None = None
) -> tuple[ManagedProcess, bool]:
    """Start ``interstore worker`` in the background unless it runs (``env`` added to its
    environment); wait until it answers.

    Returns the process and whether this call started it.
    """
    process = worker_process(settings)
    started = process.pid() is None
    if started:
        home = settings.stack.var_dir / "worker"
        home.mkdir(parents=True, exist_ok=True)
        process.start([sys.executable, "-m", "interstore.cli", "worker"], env or {}, home)

    def probe() -> None:
        httpx.get(worker_url(settings, "/healthz"), timeout=2).raise_for_status()

    wait_until_ready(probe, timeout_s=WORKER_READY_TIMEOUT_S, process=process)
    return process, started


def api_process(settings: Settings) -> ManagedProcess:
    home = settings.stack.var_dir / "api"
    log_file = home / "logs" / "api.out"
    return ManagedProcess("api", home / "api.pid", log_file, marker="interstore.cli")


def api_url(settings: Settings, path: str) -> str:
    host = "127.0.0.1" if settings.api.host in ("0.0.0.0", "") else settings.api.host  # noqa: S104
    return f"http://{host}:{settings.api.port}{path}"


def start_api(settings: Settings, env: dict[str, str] | None = None) -> tuple[ManagedProcess, bool]:
    """Start ``interstore api`` in the background unless it runs (``env`` added to its
    environment); wait until /healthz answers. Returns the process and whether this started it."""
    process = api_process(settings)
    started = process.pid() is None
    if started:
        home = settings.stack.var_dir / "api"
        home.mkdir(parents=True, exist_ok=True)
        process.start([sys.executable, "-m", "interstore.cli", "api"], env or {}, home)

    def probe() -> None:
        httpx.get(api_url(settings, "/healthz"), timeout=2).raise_for_status()

    wait_until_ready(probe, timeout_s=API_READY_TIMEOUT_S, process=process)
    return process, started
