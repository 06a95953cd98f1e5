"""What a process is doing, on demand: on ``DUMP_SIGNAL`` (SIGUSR2) it writes every thread's
Python stack to stderr at once (``faulthandler``: from the signal handler, so even a blocked
event loop is seen), then the event loop logs every asyncio task with the chain of awaits it is
suspended in, at warning level, ending with ``DUMP_END``. A test or benchmark that waits in vain
for a worker asks it for this (``deploy.app_processes.WorkerChild.dump_stacks``); a worker whose
stop does not finish writes the same before it exits (``dump_stacks``, from the loop).
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import signal
import sys
from typing import Any

log = logging.getLogger(__name__)
DUMP_SIGNAL = signal.SIGUSR2
DUMP_END = "stack dump: end"
"""The last line of a dump (a loop that never logs it is blocked: the threads show where)."""


def install_stack_dump(loop: asyncio.AbstractEventLoop) -> None:
    """Dump this process's threads and ``loop``'s tasks on ``DUMP_SIGNAL``."""
    loop.add_signal_handler(DUMP_SIGNAL, log_tasks)
    # after the loop's handler, which it chains to: the threads first, the tasks next
    faulthandler.register(DUMP_SIGNAL, file=sys.stderr, all_threads=True, chain=True)


def dump_stacks() -> None:
    """What ``DUMP_SIGNAL`` does, now, from the running loop: the threads, then the tasks."""
    sys.stderr.flush()
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    log_tasks()


def log_tasks() -> None:
    """Every task of the running loop and where it waits, in one warning."""
    tasks = sorted(asyncio.all_tasks(), key=lambda task: task.get_name())
    lines = [f"stack dump: {len(tasks)} asyncio tasks"]
    for task in tasks:
        lines.append(repr(task))
        lines.extend(f"    {step}" for step in await_chain(task.get_coro()))
    lines.append(DUMP_END)
    log.warning("\n".join(lines))


def await_chain(awaitable: Any) -> list[str]:
    """Where a suspended coroutine is: its frame, then that of every coroutine it awaits, down
    to the one awaiting a future (``Task.get_stack`` stops at the outermost coroutine)."""
    steps = []
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        frame = frame or getattr(awaitable, "ag_frame", None)
        if frame is None:  # a future: the task's ``wait_for``
            break
        code = frame.f_code
        steps.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        awaitable = (
            getattr(awaitable, "cr_await", None)
            or getattr(awaitable, "gi_yieldfrom", None)
            or getattr(awaitable, "ag_await", None)
        )
    return steps
