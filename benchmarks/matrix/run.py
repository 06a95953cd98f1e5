"""`interstore bench matrix`: a 20-column model (user, product, user x category, the category
derived from the product) served by ``interstore api`` under a steady open-loop rate (vegeta),
against the same reads from plain Python (the floor) and Feast's Python feature server over
the same values, all in one run.

Everything runs on a private ``redis-server`` (a free port, no persistence) holding only this
run's values, so nothing touches the shared Redis; it is stopped at the end. Phases, each
``duration_s`` at a constant rate: ``/matrix`` at 30, 100 and 500 candidates, the floor at each
size, ``:rank`` at 30, then Feast's ladder at 100 rows up to the highest rate it keeps up with,
and interstore at that same rate; and a closed loop at the largest size timed to the NumPy
array on the client (``benchmarks.matrix.formats``).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from benchmarks.api.vegeta import VEGETA_VERSION, Request, Vegeta, ensure_vegeta
from benchmarks.harness.cpu import ProcessCpu
from benchmarks.harness.errors import BenchError
from benchmarks.harness.figures import Ceiling, Target, figures_table, print_targets
from benchmarks.harness.results import BenchResult, host_info
from benchmarks.harness.scratch import scratch_keyspace
from benchmarks.matrix.data import MODEL_ID, Dataset, bench_model
from benchmarks.matrix.feast import check_answer, ensure_feast, feast_server, materialise
from benchmarks.matrix.feast import request_body as feast_body
from benchmarks.matrix.floor import run_floor
from benchmarks.matrix.formats import json_to_numpy
from benchmarks.matrix.plan import MatrixParams, build_result, keeping_up
from benchmarks.matrix.procs import PREFIX, private_redis, running_api
from core.settings import load_settings
from deploy.process import free_port
from features.catalogue import load_catalogue

DISTINCT_REQUESTS = 50
WARMUP_S = 3.0


def _bodies(data: Dataset, size: int, seed: int) -> list[bytes]:
    rng = random.Random(seed + size)
    bodies = []
    for _ in range(DISTINCT_REQUESTS):
        user, products = data.request(rng, size)
        bodies.append(json.dumps({"context": {"user_id": user}, "candidates": products}).encode())
    return bodies


def _check_matrix(url: str, key: str, data: Dataset) -> None:
    """One answer checked against the values written (before anything is timed)."""
    user, products = data.request(random.Random(1), 30)
    answer = httpx.post(
        f"{url}/v1/models/{MODEL_ID}/matrix",
        headers={"X-API-Key": key},
        timeout=10,
        json={"context": {"user_id": user}, "candidates": products},
    )
    answer.raise_for_status()
    found = answer.json()
    for product, row in zip(products, found["rows"], strict=True):
        expected = [
            *data.values[("user", (user,))],
            *data.values[("product", (product,))],
            *data.values[("user_category", (user, data.category_of[product]))],
        ]
        if [float(v) for v in row] != expected or found["partial"]:
            raise BenchError(f"matrix row of {product} is {row}, expected {expected}")


def _attack(
    vegeta: Vegeta,
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    rate: float,
    duration_s: float,
    api_pid: int | None = None,
) -> dict[str, Any]:
    """The phase's figures; with ``api_pid``, also the API process's CPU per request (ms)."""
    requests = [Request("POST", url, body) for body in bodies]
    vegeta.attack(requests, headers, rate, WARMUP_S)  # not counted
    cpu = None if api_pid is None else ProcessCpu([api_pid])
    if cpu is not None:
        cpu.start()
    figures = vegeta.attack(requests, headers, rate, duration_s).figures()
    if cpu is not None and figures["requests"]:
        figures["api_cpu_ms_per_request"] = round(cpu.stop()[0] / figures["requests"] * 1000, 3)
    return figures


def run_matrix_bench(
    params: MatrixParams, console: Console, out: Console
) -> tuple[BenchResult, bool]:
    """One run; verified when every answer checked held the values written."""
    feast_venv = Path(params.feast_venv) if params.feast_venv else None
    settings = load_settings()
    vegeta_bin = ensure_vegeta()
    workdir = settings.stack.var_dir / "bench" / f"matrix-{uuid.uuid4().hex[:8]}"
    workdir.mkdir(parents=True, exist_ok=True)
    catalogue = load_catalogue(settings.features.definitions_path)
    data = Dataset.generate(params.users, params.products, params.categories, params.seed)
    load_before = [round(v, 2) for v in os.getloadavg()]
    key = secrets.token_urlsafe(24)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    figures: dict[str, Any] = {"matrix": {}}
    floor: dict[str, Any] = {}
    console.print(f"[bold]bench matrix[/] in {workdir}, vegeta {VEGETA_VERSION}")
    with private_redis(workdir) as redis_url:
        written = data.write(redis_url, catalogue, PREFIX)
        console.print(f"{written:,} serving values written to a private Redis ({redis_url})")
        models_dir = workdir / "models"
        models_dir.mkdir()
        (models_dir / f"{MODEL_ID}.yaml").write_text(
            bench_model(params.micro_batch, params.deadline_ms)
        )
        keyspace = f"bench_matrix_{workdir.name.split('-')[-1]}"
        with (
            scratch_keyspace(settings, keyspace),
            running_api(workdir, redis_url, models_dir, key, keyspace) as api,
        ):
            url = api.url
            _check_matrix(url, key, data)
            vegeta = Vegeta(vegeta_bin, workdir)
            matrix_url = f"{url}/v1/models/{MODEL_ID}/matrix"
            for size, rate in zip(params.sizes, params.rates, strict=True):
                console.print(f"/matrix at {size} candidates, {rate:g} req/s")
                bodies = _bodies(data, size, params.seed)
                figures["matrix"][str(size)] = _attack(
                    vegeta, matrix_url, bodies, headers, rate, params.duration_s, api.pid
                )
                floor[str(size)] = run_floor(redis_url, PREFIX, data, size, rate, params.duration_s)
            size = params.sizes[-1]
            console.print(f"/matrix at {size} candidates to NumPy, closed loop")
            figures["to_numpy"] = json_to_numpy(url, key, data, size, params.seed)
            console.print(f":rank at 30 candidates, {params.rank_rate:g} req/s")
            rank = _attack(
                vegeta,
                f"{url}/v1/models/{MODEL_ID}:rank",
                _bodies(data, 30, params.seed),
                headers,
                params.rank_rate,
                params.duration_s,
                api.pid,
            )
            rank["predictions_per_s"] = round(rank["throughput"] * 30, 1)
            figures["rank_30"] = rank
            figures["feast"] = {}
            if feast_venv is not None:
                figures["feast"] = _feast(
                    params, data, workdir, redis_url, feast_venv, vegeta, console
                )
                matched = figures["feast"].get("matched_rate")
                if matched:
                    ours = _attack(
                        vegeta,
                        matrix_url,
                        _bodies(data, 100, params.seed),
                        headers,
                        matched,
                        params.duration_s,
                    )
                    figures["feast"]["interstore_at_matched_rate"] = ours
                    figures["feast"]["ratio"] = round(
                        figures["feast"]["at_matched_rate"]["p99_ms"] / ours["p99_ms"], 2
                    )
    host = host_info(load_average_at_start=load_before, vegeta=VEGETA_VERSION)
    result = build_result(params, figures, floor, host)
    out.print(_table(result))
    print_targets(out, _targets_of(result))
    return result, True


def _feast(
    params: MatrixParams,
    data: Dataset,
    workdir: Path,
    redis_url: str,
    venv: Path,
    vegeta: Vegeta,
    console: Console,
) -> dict[str, Any]:
    console.print(f"Feast: installing/checking {venv}, materialising the same values")
    python = ensure_feast(venv)
    repo = workdir / "feast"
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    started = time.monotonic()
    materialise(python, repo, data, port)
    found: dict[str, Any] = {"materialise_s": round(time.monotonic() - started, 1), "ladder": []}
    serve_port = free_port()
    rng = random.Random(params.seed + 100)
    requests = [data.request(rng, 100) for _ in range(DISTINCT_REQUESTS)]
    bodies = [json.dumps(feast_body(data, u, p)).encode() for u, p in requests]
    with feast_server(python, repo, serve_port):
        check_answer(serve_port, data, *requests[0])
        url = f"http://127.0.0.1:{serve_port}/get-online-features"
        for rate in params.feast_rates:
            console.print(f"Feast at 100 rows, {rate:g} req/s")
            step = _attack(
                vegeta, url, bodies, {"Content-Type": "application/json"}, rate, params.feast_step_s
            )
            found["ladder"].append(step)
            if not keeping_up(step):
                break
            found["matched_rate"], found["at_matched_rate"] = rate, step
    return found


def _targets_of(result: BenchResult) -> list[Target]:
    return [
        (Ceiling if t["name"].startswith(("matrix p99", ":rank p99")) else Target)(
            t["name"], t["value"], t["threshold"], t["unit"]
        )
        for t in result.figures["targets"]
    ]


def _table(result: BenchResult) -> Any:
    figures, floor = result.figures, result.baseline["raw_mget_floor"]
    rows = []
    for size, found in figures["matrix"].items():
        low = floor.get(size, {})
        rows.append(
            (
                f"/matrix {size} candidates @ {found['rate_wanted']:g}/s",
                f"{found['p50_ms']:.2f}",
                f"{found['p99_ms']:.2f}",
                f"{found['throughput']:.0f}",
                f"{low.get('p50_ms', 0):.2f} / {low.get('p99_ms', 0):.2f}"
                f"; API CPU {found.get('api_cpu_ms_per_request', 0):.2f} ms/req",
            )
        )
    f = figures["to_numpy"]
    rows.append(
        (
            f"/matrix {f['candidates']} to NumPy, closed loop",
            f"{f['p50_ms']:.2f}",
            f"{f['p99_ms']:.2f}",
            "",
            f"decode p50 {f['decode_p50_ms']:.2f} ms, {f['bytes']:,} B",
        )
    )
    r = figures["rank_30"]
    rows.append(
        (
            f":rank 30 @ {r['rate_wanted']:g}/s ({r['predictions_per_s']:,.0f} pred/s)",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['throughput']:.0f}",
            f"API CPU {r.get('api_cpu_ms_per_request', 0):.2f} ms/req",
        )
    )
    feast = result.baseline["feast"]
    if feast.get("at_matched_rate"):
        f, o = feast["at_matched_rate"], feast["interstore_at_matched_rate"]
        rows.append(
            (
                f"Feast 100 rows @ {f['rate_wanted']:g}/s",
                f"{f['p50_ms']:.2f}",
                f"{f['p99_ms']:.2f}",
                f"{f['throughput']:.0f}",
                "",
            )
        )
        rows.append(
            (
                f"interstore 100 @ {o['rate_wanted']:g}/s",
                f"{o['p50_ms']:.2f}",
                f"{o['p99_ms']:.2f}",
                f"{o['throughput']:.0f}",
                f"ratio {feast['ratio']}x",
            )
        )
    columns = ("phase", "p50 ms", "p99 ms", "ok/s", "floor p50 / p99 ms; API CPU")
    return figures_table("bench matrix", columns, rows)
