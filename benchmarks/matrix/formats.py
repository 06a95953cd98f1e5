"""JSON against the binary answer of ``/matrix``, as a ranker sees them: closed-loop requests on
one reused connection, timed from sending the request to holding the numeric matrix as a NumPy
array, decoded by ``interstore.client.parse_matrix`` (what the client does; its decoding also
timed on its own). Same requests, alternating formats, so both see the same box."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

from benchmarks.harness.figures import percentile
from benchmarks.matrix.data import MODEL_ID, Dataset
from interstore.client import parse_matrix
from models import binary

REQUESTS = 100


def compare_formats(url: str, key: str, data: Dataset, size: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed + 500 + size)
    requests = [data.request(rng, size) for _ in range(REQUESTS)]
    timings: dict[str, tuple[list[float], list[float]]] = {"json": ([], []), "binary": ([], [])}
    sizes: dict[str, int] = {}
    accept = {"json": "application/json", "binary": binary.MEDIA_TYPE}
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=10) as http:
        for n, (user, products) in enumerate([requests[0], *requests]):
            body = {"context": {"user_id": user}, "candidates": products}
            for name in ("json", "binary"):
                started = time.perf_counter()
                response = http.post(
                    f"/v1/models/{MODEL_ID}/matrix", json=body, headers={"Accept": accept[name]}
                )
                response.raise_for_status()
                received = time.perf_counter()
                matrix = parse_matrix(response).numeric_matrix
                done = time.perf_counter()
                assert matrix.shape[0] == size
                if n:  # the first round warms the connection up
                    timings[name][0].append((done - started) * 1000)
                    timings[name][1].append((done - received) * 1000)
                    sizes[name] = len(response.content)
    return {
        "candidates": size,
        "requests": REQUESTS,
        **{
            name: {
                "p50_ms": round(percentile(total, 0.5), 3),
                "p99_ms": round(percentile(total, 0.99), 3),
                "decode_p50_ms": round(percentile(decode, 0.5), 3),
                "bytes": sizes[name],
            }
            for name, (total, decode) in timings.items()
        },
    }
