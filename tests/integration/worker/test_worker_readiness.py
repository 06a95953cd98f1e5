"""The worker's /readyz on the real stack: ready only while its consumer holds partitions, with
the partitions it holds, so two workers of one group split the topic and a survivor takes all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.app_processes import WorkerChild
from tests.integration.worker.conftest import Pipeline, wait_for

PARTITIONS = {0, 1, 2, 3}  # the pipeline fixture's topic


def readyz(worker: WorkerChild) -> tuple[int, dict[str, Any]]:
    url = worker.metrics_url.removesuffix("/metrics") + "/readyz"
    try:
        response = httpx.get(url, timeout=3)
    except httpx.HTTPError:
        return 0, {}  # not listening yet
    return response.status_code, response.json()


def held(worker: WorkerChild) -> set[int]:
    status, body = readyz(worker)
    return set(body.get("partitions", [])) if status == 200 else set()


@pytest.fixture
def workers(pipeline: Pipeline) -> Iterator[list[WorkerChild]]:
    started = []
    for name in ("a", "b"):
        env = {**pipeline.env, "INTERSTORE_WORKER_DATA_DIR": str(pipeline.tmp / f"data-{name}")}
        started.append(WorkerChild(env, pipeline.tmp / f"{name}.log", cwd=pipeline.tmp))
    yield started
    for worker in started:
        worker.stop()


def alive(*workers: WorkerChild) -> None:
    for worker in workers:
        assert worker.running, worker.log_tail()


def test_two_workers_split_the_partitions_and_the_survivor_takes_them_all(
    workers: list[WorkerChild],
) -> None:
    a, b = workers
    a.start()
    wait_for(lambda: held(a) == PARTITIONS, 120, "worker a ready with every partition",
             lambda: alive(a))  # fmt: skip
    b.start()
    wait_for(
        lambda: held(a) | held(b) == PARTITIONS and bool(held(a)) and bool(held(b)),
        120, "both workers ready, the partitions split", lambda: alive(a, b),
    )  # fmt: skip
    assert not held(a) & held(b)
    b.stop()
    wait_for(lambda: held(a) == PARTITIONS, 120, "worker a holds every partition again",
             lambda: alive(a))  # fmt: skip


def test_a_worker_is_not_ready_before_it_holds_partitions(workers: list[WorkerChild]) -> None:
    a, _ = workers
    a.start()
    seen: list[int] = []

    def answered() -> bool:
        status, body = readyz(a)
        if status:
            seen.append(status)
            assert (status == 200) == bool(body["partitions"]), body
        return status == 200

    wait_for(answered, 120, "worker a ready", lambda: alive(a))
    assert seen[-1] == 200
