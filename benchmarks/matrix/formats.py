"""``/matrix`` as a ranker sees it: closed-loop requests on one reused connection, timed from
sending the request to holding the numeric columns as a NumPy array, decoded by
``interstore.client.parse_matrix`` (orjson, then one ``np.array``); the decoding also timed on
its own. (A binary answer was measured against this and did not pay: docs/DESIGN.md.)"""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

from benchmarks.harness.figures import percentile
from benchmarks.matrix.data import MODEL_ID, Dataset
from interstore.client import parse_matrix

REQUESTS = 100


def json_to_numpy(url: str, key: str, data: Dataset, size: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed + 500 + size)
    requests = [data.request(rng, size) for _ in range(REQUESTS)]
    total: list[float] = []
    decode: list[float] = []
    size_bytes = 0
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=10) as http:
        for n, (user, products) in enumerate([requests[0], *requests]):
            body = {"context": {"user_id": user}, "candidates": products}
            started = time.perf_counter()
            response = http.post(f"/v1/models/{MODEL_ID}/matrix", json=body)
            response.raise_for_status()
            received = time.perf_counter()
            matrix = parse_matrix(response).numeric_matrix
            done = time.perf_counter()
            assert matrix.shape[0] == size
            if n:  # the first request warms the connection up
                total.append((done - started) * 1000)
                decode.append((done - received) * 1000)
                size_bytes = len(response.content)
    return {
        "candidates": size,
        "requests": REQUESTS,
        "p50_ms": round(percentile(total, 0.5), 3),
        "p99_ms": round(percentile(total, 0.99), 3),
        "decode_p50_ms": round(percentile(decode, 0.5), 3),
        "bytes": size_bytes,
    }
