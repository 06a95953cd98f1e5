"""Stopping a batch-consumer host (``streams.until_signalled.run_host``, everything but the exit)
on a fake host: a stop that finishes in its grace gives the status (0, or 1 after a failed batch);
one that never returns is given up once the grace is over, and at once on a second signal, with
``FORCED_EXIT_STATUS``, an error and a stack dump in the log. The exit itself is tested in a
process of its own (``test_until_signalled_process``)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from types import SimpleNamespace
from typing import Any

import pytest

from core.stack_dump import DUMP_END
from streams.until_signalled import FORCED_EXIT_STATUS, run_host


class FakeHost:
    """Started at once; its stop (``stopping``) returns once ``release`` is set."""

    def __init__(self, *, stop_returns: bool) -> None:
        self.started = asyncio.Event()
        self.stopping = asyncio.Event()
        self.stopped = False
        self.release = asyncio.Event()
        if stop_returns:
            self.release.set()

    async def start(self) -> None:
        self.started.set()

    async def stop(self) -> None:
        self.stopping.set()
        await self.release.wait()
        self.stopped = True


def consumer(failed: BaseException | None = None) -> Any:
    """What ``run_host`` reads of a ``BatchConsumer``: ``done``, and ``failed``."""
    return SimpleNamespace(done=asyncio.Event(), failed=failed)


async def signal_once_started(host: FakeHost, signum: signal.Signals = signal.SIGTERM) -> None:
    await host.started.wait()
    os.kill(os.getpid(), signum)  # run_host's handler takes it (installed before start)


async def test_a_stop_within_the_grace_gives_status_0() -> None:
    host = FakeHost(stop_returns=True)
    signalling = asyncio.create_task(signal_once_started(host))
    status = await asyncio.wait_for(run_host(host, [consumer()], grace_s=5.0), timeout=10)
    await signalling
    assert status == 0
    assert host.stopped


async def test_a_consumer_done_after_a_failed_batch_stops_the_host_with_status_1() -> None:
    host = FakeHost(stop_returns=True)
    failing = consumer(failed=RuntimeError("a batch failed"))
    failing.done.set()
    status = await asyncio.wait_for(run_host(host, [consumer(), failing], grace_s=5.0), timeout=10)
    assert status == 1
    assert host.stopped


async def test_a_stop_that_never_returns_is_given_up_after_the_grace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = FakeHost(stop_returns=False)
    signalling = asyncio.create_task(signal_once_started(host, signal.SIGINT))
    began = time.monotonic()
    try:
        with caplog.at_level(logging.INFO):
            status = await asyncio.wait_for(run_host(host, [consumer()], grace_s=0.2), timeout=10)
        took = time.monotonic() - began
        await signalling
        assert status == FORCED_EXIT_STATUS
        assert 0.2 <= took < 2.0
        assert not host.stopped
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1, errors
        assert errors[0].startswith("the stop did not finish in 0.2 s: the process exits")
        assert f"exit status {FORCED_EXIT_STATUS}" in errors[0]
        assert "consumed again" in errors[0]
        dump = caplog.text[caplog.text.index("did not finish") :]
        assert "name='host-stop'" in dump  # the stop's task, and where it waits
        assert "in stop" in dump
        assert DUMP_END in dump
    finally:
        host.release.set()  # the stop's task, left running, ends
        await asyncio.sleep(0)


async def test_a_second_signal_during_the_stop_gives_it_up_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = FakeHost(stop_returns=False)
    signalling = asyncio.create_task(signal_once_started(host))

    async def signal_again_once_stopping() -> None:
        await host.stopping.wait()
        os.kill(os.getpid(), signal.SIGTERM)

    again = asyncio.create_task(signal_again_once_stopping())
    began = time.monotonic()
    try:
        with caplog.at_level(logging.INFO):
            status = await asyncio.wait_for(run_host(host, [consumer()], grace_s=60), timeout=10)
        await asyncio.gather(signalling, again)
        assert status == FORCED_EXIT_STATUS
        assert time.monotonic() - began < 5.0  # not the grace
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1, errors
        assert errors[0].startswith("a SIGTERM or SIGINT came during the stop: the process")
    finally:
        host.release.set()
        await asyncio.sleep(0)


async def test_the_signal_handlers_are_removed_afterwards() -> None:
    host = FakeHost(stop_returns=True)
    done = consumer()
    done.done.set()
    await run_host(host, [done], grace_s=5.0)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
