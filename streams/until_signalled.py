"""Run a batch-consumer host (the worker's, the features worker's) until SIGTERM/SIGINT or until
one of its consumers is done (a batch failed), then stop it: the process's exit status. Meanwhile
SIGUSR2 dumps what it is doing (``core.stack_dump``).

The stop has ``grace_s`` to finish (``INTERSTORE_WORKER_STOP_GRACE_S``, the features
worker's ``INTERSTORE_FEATURES_WORKER_STOP_GRACE_S``). One that does not, or another
SIGTERM/SIGINT during it, is given up: an error is logged, every thread's and task's stack
dumped, and the process ends at once with ``FORCED_EXIT_STATUS`` (``os._exit``). Not by
returning: ``asyncio.run`` would wait for the stop's task and join the executors' threads, and
the interpreter joins the rest at exit, so a thread stuck in librdkafka (the consumer's thread
inside a rebalance callback, which the stop waits for) would keep the process alive for ever.
At least once still holds: a consumer commits only acked offsets and a batch is acked once it
is handled (``streams.batch_consumer``, ``streams.batch_runner``), so what was not committed
is consumed again by the partitions' next owner, as after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from asyncio import FIRST_COMPLETED
from collections.abc import Sequence
from typing import NoReturn, Protocol

from core.stack_dump import dump_stacks, install_stack_dump
from streams.batch_consumer import BatchConsumer

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
FORCED_EXIT_STATUS = 3
"""The exit status of a process whose stop was given up (1: a batch failed; 0: a clean stop)."""


class Host(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def run_until_signalled(
    host: Host, consumers: Sequence[BatchConsumer], grace_s: float
) -> int:
    """Start, run until a signal or a consumer's end, stop; 1 if a batch failed, else 0. A stop
    given up ends the process here, with ``FORCED_EXIT_STATUS``."""
    status = await run_host(host, consumers, grace_s)
    if status == FORCED_EXIT_STATUS:
        exit_now(status)
    return status


async def run_host(host: Host, consumers: Sequence[BatchConsumer], grace_s: float) -> int:
    """``run_until_signalled`` up to the exit: ``FORCED_EXIT_STATUS`` once the stop is given
    up (logged, stacks dumped; its task is left running), else the status."""
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()

    def on_signal(signum: signal.Signals) -> None:
        log.info("%s received", signum.name)
        signalled.set()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        install_stack_dump(loop)
        await host.start()
        await _first_set([signalled, *(c.done for c in consumers)])
        signalled.clear()  # from now on, a signal gives the stop up
        log.info("stopping (for up to %g s; another SIGTERM or SIGINT exits at once)", grace_s)
        stopping = asyncio.create_task(host.stop(), name="host-stop")
        hurried = asyncio.create_task(signalled.wait())
        await asyncio.wait([stopping, hurried], timeout=grace_s, return_when=FIRST_COMPLETED)
        hurried.cancel()
        if not stopping.done():
            if signalled.is_set():
                _give_up("a SIGTERM or SIGINT came during the stop")
            else:
                _give_up(f"the stop did not finish in {grace_s:g} s")
            return FORCED_EXIT_STATUS
        await stopping  # its error, if it raised
        return 1 if any(c.failed is not None for c in consumers) else 0
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


def exit_now(status: int) -> NoReturn:
    """End the process with ``status`` at once: no clean-up, no thread joined."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stream: exit anyway
            stream.flush()
    os._exit(status)


async def _first_set(events: Sequence[asyncio.Event]) -> None:
    waits = [asyncio.create_task(event.wait()) for event in events]
    await asyncio.wait(waits, return_when=FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()


def _give_up(why: str) -> None:
    log.error(
        "%s: the process exits without finishing the stop, exit status %d. "
        "Offsets not committed are consumed again by the partitions' next owner (at least "
        "once: only handled batches were acked). The threads' and tasks' stacks follow.",
        why,
        FORCED_EXIT_STATUS,
    )
    try:
        dump_stacks()
    except Exception:  # the exit must not wait on the dump
        log.exception("the stack dump failed")
