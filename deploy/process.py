"""Start, find and stop one background process by its pid file."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from deploy.errors import NotReadyError

PID_FILE_WAIT_S = 10.0


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts connections on host:port, or the port cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS picks it), for a daemon, proxy or test server
    started next. The one helper the benchmarks and the tests share (deploy/ is the lowest layer
    both may import that runs processes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_owner(port: int) -> str:
    """A short description of who listens on a port, when the OS tells us."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid is None:
                    return "another process"
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({proc.name()})"
    except (psutil.Error, OSError):
        pass
    return "another process"


def log_tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return f"(no log at {path})"
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 16384))
        text = handle.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """A daemon we started: its pid file, its log, and how to stop it."""

    def __init__(self, name: str, pid_file: Path, log_file: Path, marker: str) -> None:
        self.name = name
        self.pid_file = pid_file
        self.log_file = log_file
        # A string our command line contains: a recycled pid of another program is not ours.
        self.marker = marker

    def pid(self) -> int | None:
        """The pid from our pid file, if that process is still alive, ours, and not a zombie."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            cmdline = proc.cmdline()
            if not cmdline:  # read mid-exec (sh -> our program): empty for an instant
                time.sleep(0.05)
                cmdline = proc.cmdline()
            if not any(self.marker in arg for arg in cmdline):
                return None
        except psutil.Error:
            return None
        return pid

    def rss_bytes(self) -> int | None:
        pid = self.pid()
        if pid is None:
            return None
        try:
            return int(psutil.Process(pid).memory_info().rss)
        except psutil.Error:
            return None

    def start(self, argv: Sequence[str], env: dict[str, str], cwd: Path) -> int:
        """Start ``argv`` as a daemon of its own session (not our child: it outlives the CLI or
        test that started it, and init reaps it), logging to ``log_file``; return its pid."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.unlink(missing_ok=True)
        launcher = ["setsid", "--fork", "sh", "-c", 'echo $$ > "$0" && exec "$@"']
        with self.log_file.open("ab") as log:
            subprocess.run(
                [*launcher, str(self.pid_file), *argv],
                cwd=cwd,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=30,
            )
        deadline = time.monotonic() + PID_FILE_WAIT_S
        while time.monotonic() < deadline:
            try:
                return int(self.pid_file.read_text().strip())
            except (FileNotFoundError, ValueError):
                time.sleep(0.01)
        raise NotReadyError(f"{self.name} wrote no pid file at {self.pid_file}")

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM, wait, then SIGKILL. True if a process was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        proc = psutil.Process(pid)
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        except PermissionError:
            proc.terminate()
        if not _wait_gone(proc, timeout_s):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(proc, 10)
        self.pid_file.unlink(missing_ok=True)
        return True


def _wait_gone(proc: psutil.Process, timeout_s: float) -> bool:
    """Wait until the process is gone or a zombie (our daemons are not our children, and the
    machine's init may be slow to reap them)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def wait_until_ready(
    probe: Callable[[], None],
    *,
    timeout_s: float,
    process: ManagedProcess,
    interval_s: float = 0.5,
) -> float:
    """Call ``probe`` until it stops raising; return the seconds it took.

    Fails fast, with the tail of the log, if the process dies or the time runs out.
    """
    started = time.monotonic()
    last_error: Exception | None = None
    while time.monotonic() - started < timeout_s:
        if process.pid() is None:
            raise NotReadyError(
                f"{process.name} exited during start-up; last lines of {process.log_file}:\n"
                f"{log_tail(process.log_file)}"
            )
        try:
            probe()
            return time.monotonic() - started
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last_error = exc
        time.sleep(interval_s)
    raise NotReadyError(
        f"{process.name} not ready after {timeout_s:.0f}s (last probe error: {last_error}); "
        f"last lines of {process.log_file}:\n{log_tail(process.log_file)}"
    )
