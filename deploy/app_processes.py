"""interstore's own long-running processes (the worker, the read API), run as local daemons
like the stack: ``interstore <command>`` with a pid file and a log under ``var/<command>/``."""

from __future__ import annotations

import sys

import httpx

from core.settings import Settings
from deploy.process import ManagedProcess, wait_until_ready

WORKER_READY_TIMEOUT_S = 120.0
API_READY_TIMEOUT_S = 60.0


def _local(host: str) -> str:
    """Where to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104


def _process(settings: Settings, command: str) -> ManagedProcess:
    home = settings.stack.var_dir / command
    log_file = home / "logs" / f"{command}.out"
    return ManagedProcess(command, home / f"{command}.pid", log_file, marker="interstore.cli")


def _start(
    settings: Settings,
    command: str,
    health_url: str,
    timeout_s: float,
    env: dict[str, str] | None,
    argv: tuple[str, ...] | None = None,
) -> tuple[ManagedProcess, bool]:
    """Start ``interstore <argv or command>`` in the background unless it runs (``env`` added
    to its environment); wait until ``health_url`` answers 2xx. Returns the process and whether
    this call started it."""
    process = _process(settings, command)
    started = process.pid() is None
    if started:
        home = settings.stack.var_dir / command
        home.mkdir(parents=True, exist_ok=True)
        args = argv or (command,)
        process.start([sys.executable, "-m", "interstore.cli", *args], env or {}, home)

    def probe() -> None:
        httpx.get(health_url, timeout=2).raise_for_status()

    wait_until_ready(probe, timeout_s=timeout_s, process=process)
    return process, started


def worker_process(settings: Settings) -> ManagedProcess:
    return _process(settings, "worker")


def worker_url(settings: Settings, path: str) -> str:
    return f"http://{_local(settings.worker.web_bind)}:{settings.worker.web_port}{path}"


def start_worker(
    settings: Settings, env: dict[str, str] | None = None
) -> tuple[ManagedProcess, bool]:
    """``interstore worker``, ready once its /healthz answers."""
    url = worker_url(settings, "/healthz")
    return _start(settings, "worker", url, WORKER_READY_TIMEOUT_S, env)


def api_process(settings: Settings) -> ManagedProcess:
    return _process(settings, "api")


def api_url(settings: Settings, path: str) -> str:
    return f"http://{_local(settings.api.host)}:{settings.api.port}{path}"


def start_api(settings: Settings, env: dict[str, str] | None = None) -> tuple[ManagedProcess, bool]:
    """``interstore api``, ready once its /healthz answers."""
    return _start(settings, "api", api_url(settings, "/healthz"), API_READY_TIMEOUT_S, env)


FEATURES_WORKER = "features-worker"


def features_worker_process(settings: Settings) -> ManagedProcess:
    return _process(settings, FEATURES_WORKER)


def features_worker_url(settings: Settings, path: str) -> str:
    conf = settings.features_worker
    return f"http://{_local(conf.web_bind)}:{conf.web_port}{path}"


def start_features_worker(
    settings: Settings, env: dict[str, str] | None = None
) -> tuple[ManagedProcess, bool]:
    """``interstore features worker``, ready once its /healthz answers."""
    url = features_worker_url(settings, "/healthz")
    argv = ("features", "worker")
    return _start(settings, FEATURES_WORKER, url, WORKER_READY_TIMEOUT_S, env, argv)
