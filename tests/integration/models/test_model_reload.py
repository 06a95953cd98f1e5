"""Model files reloaded while the API serves: a broken version is rejected (logged, counted)
and the previous one keeps answering; reloads under load drop no request."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import yaml

from tests.integration.models.conftest import SAMPLE, FeatureValues, ServeModels
from tests.integration.models.test_matrix_api import MODEL, PRODUCTS, body, seed

POLL_WAIT_S = 1.0


async def wait_for(check, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def test_a_broken_version_is_rejected_and_the_old_one_keeps_answering(
    serve_models: ServeModels, feature_values: FeatureValues, models_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    await seed(feature_values)
    path = models_dir / SAMPLE.name
    async with serve_models() as client:
        first = (await client.get(f"/v1/models/{MODEL}")).json()["version"]
        spec = yaml.safe_load(path.read_text())
        broken = {**spec, "columns": [*spec["columns"], "user.user_activity.no_such_feature"]}
        with caplog.at_level(logging.ERROR, logger="interstore.models"):
            path.write_text(yaml.safe_dump(broken))

            async def rejected() -> bool:
                return MODEL in (await client.get("/v1/models")).json()["rejected"]

            await wait_for(rejected)
        assert "unknown feature 'user_activity.no_such_feature'" in caplog.text
        assert str(path) in caplog.text
        answer = await client.post(f"/v1/models/{MODEL}/matrix", json=body(PRODUCTS[:3]))
        assert answer.status_code == 200
        assert answer.json()["version"] == first
        metrics = (await client.get("/metrics")).text
        assert f'interstore_model_reloads_total{{model="{MODEL}",result="rejected"}} 1.0' in metrics
        fixed = {**spec, "micro_batch": 7}
        path.write_text(yaml.safe_dump(fixed))

        async def replaced() -> bool:
            return (await client.get(f"/v1/models/{MODEL}")).json()["version"] != first

        await wait_for(replaced)
        answer = await client.post(f"/v1/models/{MODEL}/matrix", json=body(PRODUCTS[:3]))
        assert answer.json()["version"] != first
        assert (await client.get("/v1/models")).json()["rejected"] == {}


async def test_reloads_under_load_drop_no_request(
    serve_models: ServeModels, feature_values: FeatureValues, models_dir: Path
) -> None:
    await seed(feature_values)
    path = models_dir / SAMPLE.name
    spec = yaml.safe_load(path.read_text())
    versions = [yaml.safe_dump({**spec, "micro_batch": size}) for size in (3, 5, 8)]
    seen: set[str] = set()
    statuses: list[int] = []
    stop = asyncio.Event()
    async with serve_models() as client:

        async def load() -> None:
            while not stop.is_set():
                answer = await client.post(f"/v1/models/{MODEL}/matrix", json=body(PRODUCTS))
                statuses.append(answer.status_code)
                if answer.status_code == 200:
                    seen.add(answer.json()["version"])

        workers = [asyncio.create_task(load()) for _ in range(8)]
        for n in range(12):  # a new version every 0.15 s, the poller every 0.1 s
            path.write_text(versions[n % 3])
            await asyncio.sleep(0.15)
        stop.set()
        await asyncio.gather(*workers)
    assert statuses
    assert set(statuses) == {200}
    assert len(seen) >= 3
