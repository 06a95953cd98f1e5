"""interstore's own long-running processes (the worker, the read API): run as local daemons
like the stack (``interstore <command>`` with a pid file and a log under ``var/<command>/``), or
as a child of a test or a benchmark (``WorkerChild``: the one worker starter both use)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from core.settings import Settings
from core.stack_dump import DUMP_END, DUMP_SIGNAL
from deploy.process import ManagedProcess, free_port, wait_until_ready

WORKER_READY_TIMEOUT_S = 120.0
API_READY_TIMEOUT_S = 60.0


def _local(host: str) -> str:
    """Where to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104


def interstore_argv(*command: str) -> list[str]:
    """``interstore <command...>`` with this interpreter (what the console script runs)."""
    return [sys.executable, "-m", "interstore.cli", *command]


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
        process.start(interstore_argv(*(argv or (command,))), env or {}, home)

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


def catches(pid: int, signum: signal.Signals) -> bool:
    """Whether the (Linux) process has a handler for ``signum`` installed."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    masks = [line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")]
    return bool(masks) and bool(int(masks[0], 16) >> (signum - 1) & 1)


class WorkerChild:
    """``interstore worker`` as a child process (it dies with the test or benchmark that started
    it, unlike the daemon above): ``env`` as given plus a free web port, output to ``log_path``.

    Tests and benchmarks give it their own topics, keyspace, app id and data dir in ``env``.
    """

    ARGV: tuple[str, ...] = ("worker",)
    PORT_VARIABLE = "INTERSTORE_WORKER_WEB_PORT"

    def __init__(self, env: Mapping[str, str], log_path: Path, cwd: Path) -> None:
        self.web_port = free_port()
        self.env = {**env, self.PORT_VARIABLE: str(self.web_port)}
        self.log_path = log_path
        self.cwd = cwd
        self.metrics_url = f"http://127.0.0.1:{self.web_port}/metrics"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        """Start the worker; its pid."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                interstore_argv(*self.ARGV),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
            )
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return f"(no log at {self.log_path})"

    def dump_stacks(self, timeout_s: float = 5.0) -> str:
        """What the worker is doing now: its threads' and asyncio tasks' stacks, as it writes
        them to its log on ``DUMP_SIGNAL`` (``core.stack_dump``)."""
        if self.proc is None or not self.running:
            return "(not running)"
        if not catches(self.proc.pid, DUMP_SIGNAL):  # still starting: the signal would kill it
            return f"(not dumping: it does not handle {DUMP_SIGNAL.name} yet)"
        try:
            start = self.log_path.stat().st_size
        except OSError:
            start = 0
        self.proc.send_signal(DUMP_SIGNAL)
        deadline = time.monotonic() + timeout_s
        dump = ""
        while time.monotonic() < deadline:
            time.sleep(0.1)
            with self.log_path.open("rb") as log:
                log.seek(start)
                dump = log.read().decode(errors="replace")
            if DUMP_END in dump:
                return dump
        return f"{dump}\n(no tasks logged within {timeout_s:.0f}s: the event loop is blocked)"

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM (the worker commits and leaves its group), then SIGKILL after ``timeout_s``."""
        if not self.running:
            return
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()


FEATURES_WORKER = "features-worker"


def features_worker_process(settings: Settings) -> ManagedProcess:
    return _process(settings, FEATURES_WORKER)


def app_processes(settings: Settings) -> tuple[ManagedProcess, ...]:
    """The daemons ``interstore demo`` starts, in the order ``stack down`` stops them: the API
    first (nothing reads after it), then the worker and the features worker."""
    return api_process(settings), worker_process(settings), features_worker_process(settings)


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


class FeaturesWorkerChild(WorkerChild):
    """``interstore features worker`` as a child process (``env`` names its app id, key prefix
    and data dir)."""

    ARGV = ("features", "worker")
    PORT_VARIABLE = "INTERSTORE_FEATURES_WORKER_WEB_PORT"
