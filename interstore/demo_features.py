"""The demo's feature side: a live feature line, and the ranker's feature table at the end.

The live line reads the top products by orders in the last 5 minutes through a ``FeatureReader``
(the same one the API builds, without an interaction store: no ``last_n`` here) and the
freshness p99 from the features worker's ``interstore_feature_freshness_seconds`` histogram,
counted from the demo's start. Until the features worker answers, both read "n/a".
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.table import Table

from core.settings import Settings
from features.reader import FeatureReader, build_feature_reader
from store.redis_features import RedisFeatureStore

FRESHNESS = "interstore_feature_freshness_seconds"
TOP_FEATURE = "product_stats.orders_5m"
TABLE_FEATURES = (
    "product_attributes.category_id",
    "product_stats.clicks_1h",
    "product_stats.orders_24h",
    "product_stats.conversion_24h",
    "product_stats.buyers_7d",
)
POLL_S = 1.0
Buckets = dict[float, float]
"""Cumulative counts by upper bound (``le``), summed over the histogram's labels."""


def histogram_buckets(text: str, name: str = FRESHNESS) -> Buckets:
    buckets: Buckets = {}
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def quantile(q: float, now: Buckets, before: Buckets | None = None) -> float | None:
    """The q-quantile of the observations between two reads of a histogram (Prometheus'
    ``histogram_quantile``: linear inside the bucket); None without observations."""
    before = before or {}
    bounds = sorted(now)
    counts = [now[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def live_line(top: Sequence[tuple[str, int]] | None, p99_s: float | None) -> str:
    if top is None:
        orders = "n/a"
    else:
        orders = ", ".join(f"{product} ({count})" for product, count in top) or "no orders yet"
    fresh = "n/a" if p99_s is None else f"{p99_s:.2f}s"
    return f"top products by orders in 5m: {orders}; freshness p99 {fresh}"


class OrderedProducts:
    """The products ordered so far, first order first: the top list's candidates. Noted by the
    sending thread, read by the polling one (appends and copies of a list are atomic)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._products: list[str] = []

    def note(self, kind: str, record: Mapping[str, Any]) -> None:
        product = record.get("product_id")
        if kind == "order" and isinstance(product, str) and product not in self._seen:
            self._seen.add(product)
            self._products.append(product)

    def snapshot(self) -> list[str]:
        return list(self._products)


class FeatureLine:
    """Polls in a thread of its own (with its own event loop); ``line`` is the newest text.
    ``products`` gives the products ordered so far (the candidates for the top list)."""

    def __init__(
        self, settings: Settings, metrics_url: str, products: Callable[[], Sequence[str]]
    ) -> None:
        self.settings = settings
        self.metrics_url = metrics_url
        self.products = products
        self.line = live_line(None, None)
        self._baseline: Buckets | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-features", daemon=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[FeatureLine]:
        self._baseline = self._buckets()
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.run(self._poll())

    async def _poll(self) -> None:
        store = RedisFeatureStore(self.settings.redis, self.settings.features)
        reader = build_feature_reader(self.settings, store, None)
        try:
            while not self._stop.is_set():
                top = await self._top(reader)
                buckets = await asyncio.to_thread(self._buckets)
                p99 = None if buckets is None else quantile(0.99, buckets, self._baseline)
                self.line = live_line(top, p99)
                await asyncio.to_thread(self._stop.wait, POLL_S)
        finally:
            await store.close()

    async def _top(self, reader: FeatureReader) -> list[tuple[str, int]] | None:
        candidates = list(self.products())[-self.settings.features.max_ids :]
        if not candidates:
            return []
        try:
            rows = await reader.get("product", candidates, [TOP_FEATURE])
        except Exception:  # noqa: BLE001 - the view says n/a; the demo goes on
            return None
        counts = [(p, int(row[0].value)) for p, row in zip(candidates, rows, strict=True)]
        return sorted((c for c in counts if c[1] > 0), key=lambda c: -c[1])[:3]

    def _buckets(self) -> Buckets | None:
        try:
            return histogram_buckets(httpx.get(self.metrics_url, timeout=2.0).text)
        except httpx.HTTPError:
            return None


def clicked_products(answer: Any, most: int = 8) -> list[str]:
    """The distinct products the users of a batchGet answer clicked, newest first per user."""
    found: list[str] = []
    results = answer.get("results", []) if isinstance(answer, Mapping) else []
    for result in results:
        for item in result.get("interactions", []) if isinstance(result, Mapping) else []:
            if item.get("kind") == "click" and item.get("product_id") not in found:
                found.append(item["product_id"])
    return found[:most]


def feature_table(answer: Any) -> Table:
    """A ``POST /v1/features:get`` answer as a table: a row per product, a column per
    feature, each value marked when it is not ``present``."""
    features = answer.get("features", []) if isinstance(answer, Mapping) else []
    table = Table(title="features of the products they clicked", title_justify="left")
    table.add_column("product", style="bold")
    for name in features:
        table.add_column(name.split(".", 1)[1])
    for result in answer.get("results", []) if isinstance(answer, Mapping) else []:
        cells = [
            _cell(value, status)
            for value, status in zip(result["values"], result["statuses"], strict=True)
        ]
        table.add_row(str(result["id"]), *cells)
    table.caption = "(m) missing: the declared default; (s) stale: its refresher is late"
    return table


def _cell(value: Any, status: str) -> str:
    shown = f"{value:.3f}" if isinstance(value, float) else str(value)
    return shown if status == "present" else f"{shown} ({status[0]})"
