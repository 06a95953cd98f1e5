"""What the demo shows while it runs: the worker's /metrics, read, and drawn as a live table.

Everything here is pure (text in, renderables or strings out) apart from ``read_worker``: the
demo polls, ``DemoState`` keeps the figures, ``render`` draws the table for ``rich.live`` and
``plain_line`` is the one-line form for logs, when stdout is not a terminal.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.table import Table

CONSUMED = "interstore_events_consumed_total"
DEAD_LETTERS = "interstore_dead_letters_total"
LIVE_SESSIONS = "interstore_live_sessions"
HYDRATIONS = "interstore_hydrations_total"
FLUSHES = "interstore_session_flushes_total"
ABSORBED = "interstore_interactions_absorbed_total"
WRITTEN = "interstore_interactions_written_total"
"""Every interaction written to Cassandra, session flushes included."""
FLUSHED = "interstore_interactions_flushed_total"
RECOVERIES = "interstore_hot_recoveries_total"
COLD_RETRIES = "interstore_cold_write_retries_total"
RATE_WINDOW_S = 2.0


@dataclass(frozen=True, slots=True)
class MetricsReading:
    """One read of the worker's /metrics: every counter and gauge summed over its labels, and
    the counters with one label by that label's value."""

    totals: dict[str, float] = field(default_factory=dict)
    by_label: dict[str, dict[str, float]] = field(default_factory=dict)

    def get(self, name: str) -> float:
        return self.totals.get(name, 0.0)


def parse_metrics(text: str) -> MetricsReading:
    """The ``interstore_*`` samples of a Prometheus text page (histograms left out)."""
    metrics = MetricsReading()
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("interstore_") or family.type not in ("counter", "gauge"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            metrics.totals[sample.name] = metrics.totals.get(sample.name, 0.0) + sample.value
            if len(sample.labels) == 1:
                (label,) = sample.labels.values()
                values = metrics.by_label.setdefault(sample.name, {})
                values[label] = values.get(label, 0.0) + sample.value
    return metrics


def read_worker(url: str, timeout_s: float = 2.0) -> MetricsReading:
    return parse_metrics(httpx.get(url, timeout=timeout_s).text)


@dataclass
class DemoState:
    """The figures the view shows; counters are counted from ``baseline`` (a worker that was
    already running has counted earlier traffic too)."""

    duration_s: float
    idle_note: str
    baseline: MetricsReading
    latest: MetricsReading
    phase: str = "sending"
    elapsed_s: float = 0.0
    produced: int = 0
    malformed: int = 0
    features: str = "n/a"
    """The live feature line (``interstore.demo_features``)."""
    history: deque[tuple[float, int, float]] = field(default_factory=lambda: deque(maxlen=64))
    """(elapsed, produced, consumed) at each update, for the rates."""

    def delta(self, name: str) -> float:
        return max(self.latest.get(name) - self.baseline.get(name), 0.0)

    def delta_by_label(self, name: str) -> dict[str, float]:
        before = self.baseline.by_label.get(name, {})
        after = self.latest.by_label.get(name, {})
        deltas = {label: value - before.get(label, 0.0) for label, value in after.items()}
        return {label: value for label, value in sorted(deltas.items()) if value > 0}

    @property
    def consumed(self) -> float:
        """Messages the worker took in: decoded events and dead letters."""
        return self.delta(CONSUMED) + self.delta(DEAD_LETTERS)

    def update(
        self, *, elapsed_s: float, produced: int, malformed: int, latest: MetricsReading
    ) -> None:
        self.elapsed_s, self.produced, self.malformed, self.latest = (
            elapsed_s, produced, malformed, latest,
        )  # fmt: skip
        self.history.append((elapsed_s, produced, self.consumed))

    def rates(self) -> tuple[float, float]:
        """Events/s produced and consumed over about the last ``RATE_WINDOW_S`` seconds."""
        if len(self.history) < 2:
            return 0.0, 0.0
        newest = self.history[-1]
        oldest = next(
            (p for p in self.history if newest[0] - p[0] <= RATE_WINDOW_S), self.history[0]
        )
        if oldest is newest:
            oldest = self.history[-2]
        span = newest[0] - oldest[0]
        if span <= 0:
            return 0.0, 0.0
        return (newest[1] - oldest[1]) / span, (newest[2] - oldest[2]) / span

    def clock(self) -> str:
        if self.phase == "sending":
            left = max(self.duration_s - self.elapsed_s, 0.0)
            return f"{self.elapsed_s:.0f}s of {self.duration_s:.0f}s, {left:.0f}s left"
        return f"{self.elapsed_s:.0f}s: {self.phase}"


def _count(value: float) -> str:
    return f"{int(value):,}"


def _breakdown(values: dict[str, float]) -> str:
    return ", ".join(f"{label} {int(value):,}" for label, value in values.items())


def rows(state: DemoState) -> list[tuple[str, str]]:
    produced_rate, consumed_rate = state.rates()
    lag = max(state.produced - state.consumed, 0.0)
    flushes = state.delta(FLUSHES)
    causes = _breakdown(state.delta_by_label(FLUSHES))
    dead = state.delta(DEAD_LETTERS)
    reasons = _breakdown(state.delta_by_label(DEAD_LETTERS))
    written, flushed = state.delta(WRITTEN), state.delta(FLUSHED)
    return [
        ("time", state.clock()),
        ("events/s", f"{produced_rate:,.0f} produced, {consumed_rate:,.0f} consumed by the worker"),
        (
            "events",
            f"{state.produced:,} produced ({state.malformed} malformed), "
            f"{_count(state.consumed)} consumed, {_count(lag)} behind",
        ),
        ("live sessions", f"{_count(state.latest.get(LIVE_SESSIONS))} in Redis now"),
        ("hydrations", f"{_count(state.delta(HYDRATIONS))} app-opens loaded a user into Redis"),
        ("sessions ended", _count(flushes) + (f" ({causes})" if causes else "")),
        ("kept in Redis", f"{_count(state.delta(ABSORBED))} interactions of live sessions"),
        (
            "written to Cassandra",
            f"{_count(written)} interactions: {_count(flushed)} by session flushes, "
            f"{_count(max(written - flushed, 0))} of users not in a session",
        ),
        ("dead letters", _count(dead) + (f" ({reasons})" if reasons else "")),
        ("features", state.features),
        ("incidents", _incidents(state)),
    ]


def _incidents(state: DemoState) -> str:
    """What the worker waited out or repaired (a shared stack may restart under it)."""
    found = []
    if retries := state.delta(COLD_RETRIES):
        found.append(f"{_count(retries)} cold writes retried (Cassandra unavailable)")
    if recoveries := state.delta(RECOVERIES):
        plural = "" if recoveries == 1 else "s"
        found.append(f"{_count(recoveries)} partition{plural} replayed (Redis lost its data)")
    return "; ".join(found) or "none"


def render(state: DemoState) -> Table:
    table = Table(
        title="interstore demo: live view of the worker",
        caption=state.idle_note,
        show_header=False,
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("what", style="bold")
    table.add_column("figure")
    for name, figure in rows(state):
        table.add_row(name, figure)
    return table


def plain_line(state: DemoState) -> str:
    """The same figures on one line (for logs)."""
    return " | ".join(f"{name}: {figure}" for name, figure in rows(state))
