"""`interstore demo`: the whole system at work, watched live, then asked like a ranker would.

Starts the worker, the features worker and the read API if they are not running, sends app
traffic paced in real time (``interstore.demo_traffic``) while a live view shows what the worker
does (``interstore.demo_view``) and a live feature line (``interstore.demo_features``), then
makes a sample ranker request to the API (``interstore.demo_api``): the users' interactions,
then the features of the products they clicked. The processes are left running for more
requests; ``interstore stack down`` stops them with the stack.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.live import Live

from core.clock import wall_clock_ms
from core.settings import Settings
from deploy.app_processes import (
    api_url,
    features_worker_url,
    start_api,
    start_features_worker,
    start_worker,
    worker_process,
    worker_url,
)
from interstore import demo_api, demo_features
from interstore.demo_traffic import Malformed, TrafficPlan, build_plan, outgoing
from interstore.demo_view import DemoState, MetricsReading, plain_line, read_worker, render
from schemas.codec import default_codec
from streams.producer import EventProducer
from streams.topics import ensure_topics

TICK_S = 1.0
"""The inactivity tracker's period for a worker the demo starts."""
VIEW_EVERY_S = 0.5
PLAIN_EVERY_S = 5.0
DRAIN_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration_s: float = 60.0
    rate: float = 500.0
    users: int = 5_000
    idle_s: int = 15
    seed: int | None = None


class MetricsPoller:
    """Reads the worker's /metrics in a thread of its own, so a slow answer never delays the
    traffic; ``latest`` is the newest read."""

    def __init__(self, url: str, first: MetricsReading) -> None:
        self.url = url
        self.latest = first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-metrics", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(VIEW_EVERY_S):
            with contextlib.suppress(httpx.HTTPError):
                self.latest = read_worker(self.url)

    @contextlib.contextmanager
    def running(self) -> Iterator[MetricsPoller]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=5)


def _worker_idle(settings: Settings, started: bool, idle_s: int) -> tuple[float | None, str]:
    """The idle timeout the worker runs with, if known, and how the view says it."""
    if started:
        return idle_s, (
            f"sessions end after {idle_s}s without events (the worker this demo started runs "
            f"with INTERSTORE_SESSION_IDLE_S={idle_s}, checked every {TICK_S:.0f}s)"
        )
    pid = worker_process(settings).pid()
    found: str | None = None
    with contextlib.suppress(psutil.Error):
        found = psutil.Process(pid).environ().get("INTERSTORE_SESSION_IDLE_S") if pid else None
    idle = float(found) if found else float(settings.session.idle_s)
    return idle, (
        f"the worker was already running: sessions end after the idle timeout it was started "
        f"with ({idle:.0f}s{'' if found else ', its default'}), not --idle"
    )


def run_demo(settings: Settings, options: DemoOptions) -> None:
    console = Console(highlight=False, soft_wrap=True)
    seed = options.seed if options.seed is not None else random.randrange(2**31)
    console.print(
        f"demo: about {options.rate:,.0f} events/s for {options.duration_s:.0f}s across up to "
        f"{options.users:,} users (seed {seed}); starting the worker and the API…"
    )
    ensure_topics(settings.kafka, settings.topics)
    key_file = demo_api.demo_key_path(settings)
    key = demo_api.load_or_create_key(key_file)
    worker_env = {"INTERSTORE_SESSION_IDLE_S": str(options.idle_s),
                  "INTERSTORE_SESSION_TICK_S": str(TICK_S)}  # fmt: skip
    with ThreadPoolExecutor(4) as pool:  # start them while the traffic is planned
        worker = pool.submit(start_worker, settings, worker_env)
        features = pool.submit(start_features_worker, settings)
        api = pool.submit(start_api, settings, demo_api.api_env(key))
        plan = pool.submit(
            build_plan, duration_s=options.duration_s, rate=options.rate, users=options.users,
            seed=seed,
        )  # fmt: skip
        _, worker_started = worker.result()
        _, features_started = features.result()
        _, api_started = api.result()
    console.print(
        f"worker {'started' if worker_started else 'already running'}: "
        f"{worker_url(settings, '/metrics')}; API {'started' if api_started else 'already running'}"
        f": {api_url(settings, '/docs')} (local demo key in {demo_api.shown_path(key_file)}); "
        f"features worker {'started' if features_started else 'already running'}: "
        f"{features_worker_url(settings, '/metrics')}"
    )
    idle_s, idle_note = _worker_idle(settings, worker_started, options.idle_s)
    traffic = plan.result()
    elapsed = _send(settings, traffic, idle_note, options.duration_s, console)
    _ranker(settings, key, key_file, traffic, elapsed, idle_s, console)


def _send(
    settings: Settings, plan: TrafficPlan, idle_note: str, duration_s: float, console: Console
) -> float:
    """Send the plan in real time under the live view, then wait for the worker to catch up.
    Returns the seconds since the traffic began."""
    metrics_url = worker_url(settings, "/metrics")
    first = read_worker(metrics_url)
    state = DemoState(duration_s, idle_note, baseline=first, latest=first)
    codec = default_codec()
    tty = console.is_terminal
    live = Live(render(state), console=console, refresh_per_second=2) if tty else None
    poller = MetricsPoller(metrics_url, first)
    ordered = demo_features.OrderedProducts()
    feature_line = demo_features.FeatureLine(
        settings, features_worker_url(settings, "/metrics"), ordered.snapshot
    )
    began, start_ms = time.monotonic(), wall_clock_ms()
    sent = malformed = 0
    next_view = next_plain = 0.0

    def show(elapsed: float) -> None:
        nonlocal next_view, next_plain
        if elapsed < next_view and state.phase == "sending":
            return
        next_view = elapsed + VIEW_EVERY_S
        state.update(elapsed_s=elapsed, produced=sent, malformed=malformed, latest=poller.latest)
        state.features = feature_line.line
        if live is not None:
            live.update(render(state))
        elif elapsed >= next_plain:
            next_plain = elapsed + PLAIN_EVERY_S
            console.print(plain_line(state))

    with (
        live or contextlib.nullcontext(),
        poller.running(),
        feature_line.running(),
        EventProducer(settings.kafka, settings.topics.events, codec=codec) as producer,
    ):
        for entry in plan.entries:
            while (wait := entry.at_s - (elapsed := time.monotonic() - began)) > 0 or (
                elapsed >= next_view
            ):
                show(elapsed)
                time.sleep(min(max(wait, 0.0), 0.02))
            now_ms = wall_clock_ms()
            producer.send_prepared(outgoing(entry, start_ms=start_ms, now_ms=now_ms, codec=codec))
            sent += 1
            malformed += isinstance(entry, Malformed)
            if not isinstance(entry, Malformed):
                ordered.note(entry.kind, entry.record)
        while time.monotonic() - began < duration_s:
            show(time.monotonic() - began)
            time.sleep(0.05)
        producer.flush(60)
        state.phase = "the worker is catching up"
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while state.consumed < sent and time.monotonic() < deadline:
            time.sleep(VIEW_EVERY_S)
            show(time.monotonic() - began)
        time.sleep(VIEW_EVERY_S)  # one more read of /metrics after the last batch
        state.phase = "done" if state.consumed >= sent else "the worker is still behind"
        next_plain = 0.0
        show(time.monotonic() - began)
    return time.monotonic() - began


def _ranker(
    settings: Settings, key: str, key_file: Path, plan: TrafficPlan, elapsed_s: float,
    idle_s: float | None, console: Console,
) -> None:  # fmt: skip
    picks = demo_api.pick_users(
        plan.last_seen_s, plan.interactions_by_user, now_s=elapsed_s, idle_s=idle_s
    )
    if not picks:
        console.print("no user sent anything: no sample request")
        return
    console.print("\n[bold]A ranker asks the API for these users' newest interactions:[/]")
    for pick in picks:
        console.print(f"  {pick.user_id}: {pick.why}")
    call = demo_api.ranker_request(
        api_url(settings, demo_api.BATCH_GET), key, [pick.user_id for pick in picks], limit=5
    )
    shown = demo_api.shown_path(key_file)
    console.print(f"\n[bold]request[/] (the key is a local demo key, read from {shown}):")
    console.print(demo_api.curl_command(call, key_file), markup=False)
    console.print(f"\n[bold]answer[/] (HTTP {call.status}, {call.elapsed_ms:.0f} ms; trimmed):")
    console.print(demo_api.trimmed_json(call.answer), markup=False)
    results = call.answer.get("results", []) if isinstance(call.answer, dict) else []
    sources = [str(result.get("source", "error")) for result in results]
    console.print(
        f"\nsources: {', '.join(sources)} (hot: a live session in Redis; cold: Cassandra)"
    )
    _feature_request(settings, key, call.answer, console)
    console.print(f"API docs: {api_url(settings, '/docs')}")
    console.print(
        "The workers and the API keep running for more requests; `interstore stack down` "
        "(make down) stops them with the stack."
    )


def _feature_request(settings: Settings, key: str, answer: object, console: Console) -> None:
    """The ranker's second call: features of the products its users clicked, as a table."""
    products = demo_features.clicked_products(answer)
    if not products:
        console.print("\nthe sample users clicked nothing in the answer: no feature request")
        return
    body = {"entity": "product", "ids": products, "features": list(demo_features.TABLE_FEATURES)}
    call = demo_api.post_json(api_url(settings, demo_api.FEATURES_GET), key, body)
    console.print(f"\n[bold]then asks {demo_api.FEATURES_GET}[/] for the products they clicked:")
    console.print(json.dumps(body), markup=False)
    if call.status != 200:
        console.print(f"HTTP {call.status}: {json.dumps(call.answer)[:500]}", markup=False)
        return
    console.print(f"answer: HTTP {call.status}, {call.elapsed_ms:.0f} ms")
    console.print(demo_features.feature_table(call.answer))
