"""A stop that does not finish ends the process (``streams.until_signalled``), in a real one: a
Python process runs ``run_until_signalled`` as the workers' entry points do (logging as
``streams.worker`` sets it up, the grace from ``INTERSTORE_WORKER_STOP_GRACE_S``,
``asyncio.run``, its status the exit status) on a host whose stop joins a thread blocked for
ever, as the consumer's thread stuck in a rebalance callback is. SIGTERM then ends it with
``FORCED_EXIT_STATUS`` once the grace is over, a second SIGTERM at once, and the log says why;
a stop that finishes exits with 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.app_processes import catches
from streams.until_signalled import FORCED_EXIT_STATUS

ROOT = Path(__file__).resolve().parents[3]
PROGRAM = """
import asyncio, logging, sys, threading
from core.settings import load_settings
from streams.until_signalled import run_until_signalled

released = threading.Event()

def stuck_in_a_callback():
    released.wait()

class Host:
    def __init__(self, stop_hangs):
        self.stop_hangs = stop_hangs
        self.thread = threading.Thread(target=stuck_in_a_callback)  # not a daemon

    async def start(self):
        self.thread.start()
        print("started", flush=True)

    async def stop(self):
        if not self.stop_hangs:
            released.set()
        await asyncio.to_thread(self.thread.join)

logging.basicConfig(
    level="INFO", format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
)
host = Host(sys.argv[1] == "hangs")
status = asyncio.run(run_until_signalled(host, [], load_settings().worker.stop_grace_s))
if status:
    sys.exit(status)
"""


class Child:
    """The program above as a child process, its output in ``log``."""

    def __init__(self, log: Path, stop: str, grace_s: float) -> None:
        self.log = log
        grace = {"INTERSTORE_WORKER_STOP_GRACE_S": str(grace_s)}
        env = {**os.environ, "PYTHONPATH": str(ROOT), **grace}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", PROGRAM, stop],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, text: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()}"
            time.sleep(0.05)

    def terminate(self) -> float:
        """SIGTERM; when it was sent."""
        self.proc.send_signal(signal.SIGTERM)
        return time.monotonic()

    def exit_status(self, timeout_s: float) -> int:
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running after {timeout_s} s:\n{self.output()}")


@pytest.fixture
def children(tmp_path: Path) -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait(timeout=10)


def start(children: list[Child], tmp_path: Path, stop: str, grace_s: float) -> Child:
    child = Child(tmp_path / f"{stop}.log", stop, grace_s)
    children.append(child)
    child.wait_for("started")
    assert catches(child.proc.pid, signal.SIGTERM)
    return child


def test_a_stop_stuck_on_a_blocked_thread_exits_with_the_forced_status_after_the_grace(
    children: list[Child], tmp_path: Path
) -> None:
    child = start(children, tmp_path, "hangs", grace_s=1.0)
    sent = child.terminate()
    status = child.exit_status(timeout_s=1.0 + 10)
    took = time.monotonic() - sent
    out = child.output()
    assert status == FORCED_EXIT_STATUS, out
    assert took >= 1.0, out
    assert "[ERROR] streams.until_signalled: the stop did not finish in 1 s: the process " in out
    assert "exits without finishing the stop, exit status 3" in out
    assert "in stuck_in_a_callback" in out  # the threads' stacks (faulthandler)
    assert "name='host-stop'" in out  # the tasks' (core.stack_dump.log_tasks)


def test_a_second_sigterm_during_the_stop_exits_at_once(
    children: list[Child], tmp_path: Path
) -> None:
    child = start(children, tmp_path, "hangs", grace_s=120.0)
    child.terminate()
    child.wait_for("stopping (for up to 120 s")
    sent = child.terminate()
    status = child.exit_status(timeout_s=10)
    out = child.output()
    assert status == FORCED_EXIT_STATUS, out
    assert time.monotonic() - sent < 10, out
    assert "a SIGTERM or SIGINT came during the stop: the process exits" in out
    assert "in stuck_in_a_callback" in out


def test_a_stop_that_finishes_exits_with_0(children: list[Child], tmp_path: Path) -> None:
    child = start(children, tmp_path, "finishes", grace_s=30.0)
    child.terminate()
    out = child.output
    assert child.exit_status(timeout_s=10) == 0, out()
    assert "[ERROR]" not in out()
