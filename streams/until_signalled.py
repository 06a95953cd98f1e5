"""Run a batch-consumer host (the worker's, the features worker's) until SIGTERM/SIGINT or until
one of its consumers is done (a batch failed), then stop it: the process's exit status. Meanwhile
SIGUSR2 dumps what it is doing (``core.stack_dump``)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from typing import Protocol

from core.stack_dump import install_stack_dump
from streams.batch_consumer import BatchConsumer


class Host(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def run_until_signalled(host: Host, consumers: Sequence[BatchConsumer]) -> int:
    """Start, run until a signal or a consumer's end, stop; 1 if a batch failed, else 0."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    install_stack_dump(loop)
    await host.start()
    waits = [asyncio.create_task(event.wait()) for event in (stop, *(c.done for c in consumers))]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    await host.stop()
    return 1 if any(c.failed is not None for c in consumers) else 0
