"""The stack dump (``core.stack_dump``): a process with it installed writes its threads and its
asyncio tasks' await chains on SIGUSR2, and goes on running."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from core.stack_dump import DUMP_END, DUMP_SIGNAL
from deploy.app_processes import catches

PROGRAM = """
import asyncio, logging, threading
from core.stack_dump import install_stack_dump

def stuck_in_a_thread():
    threading.Event().wait()

async def waits_for_a_lock(lock):
    async with lock:
        pass

async def main():
    install_stack_dump(asyncio.get_running_loop())
    threading.Thread(target=stuck_in_a_thread, daemon=True).start()
    lock = asyncio.Lock()
    await lock.acquire()
    asyncio.create_task(waits_for_a_lock(lock), name="the-waiter")
    print("ready", flush=True)
    await asyncio.sleep(30)

logging.basicConfig(level="WARNING")
asyncio.run(main())
"""


def test_sigusr2_dumps_threads_and_the_await_chain_of_every_task(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    root = Path(__file__).resolve().parents[3]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", PROGRAM], stdout=out, stderr=subprocess.STDOUT, cwd=root
        )
    try:
        deadline = time.monotonic() + 30
        while "ready" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert catches(proc.pid, DUMP_SIGNAL)
        proc.send_signal(DUMP_SIGNAL)
        while DUMP_END not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        dump = log.read_text()
        assert DUMP_END in dump, dump
        assert "in stuck_in_a_thread" in dump  # faulthandler: every thread
        waiter = dump[dump.index("name='the-waiter'") :]
        assert "in waits_for_a_lock" in waiter
        assert "in acquire" in waiter  # through the lock
        assert proc.poll() is None  # it goes on
    finally:
        proc.kill()
        proc.wait(timeout=10)
