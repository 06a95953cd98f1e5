"""The pure parts of `interstore bench hydrate`: parameters, generated traffic, figures, result.

Nothing here talks to a service; ``benchmarks.hydrate`` runs the measurements.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from benchmarks.common import BenchResult, Ceiling, Target, figures_table, percentile, ratio
from interstore.demo_events import DEFAULT_MIX, SURFACES
from store.buckets import DAY_MS
from store.interactions import INTERACTION_KINDS, Interaction

Record = dict[str, Any]
HISTORY_MIX: Mapping[str, float] = {"click": 0.6, "wishlist": 0.2, "order": 0.2}
"""Kinds of the users' cold history: every kind has hundreds of its 1,000 interactions."""
HYDRATION_P99_TARGET_S = 0.020
STATEMENTS_TARGET = 0.1


@dataclass(frozen=True, slots=True)
class HydrateParams:
    users: int = 200
    """Test users the worker hydrates (the raw baseline reads as many others, shaped alike)."""
    history: int = 1_000
    """Interactions in the cold tier per test user."""
    history_days: int = 60
    """The history's timestamps spread over this many days, ending about now."""
    last_n: int = 500
    background_rate: float = 1_000.0
    """Events/s of other users' traffic while the app_opens are measured."""
    background_users: int = 10_000
    app_open_rate: float = 20.0
    alone_users: int = 40
    alone_rate: float = 2.0
    """Then as many app_opens this slowly, so that each hydrates alone in its batch: the
    per-hydration cost without the others of its batch (a diagnostic)."""
    partitions: int = 12
    seed: int = 42
    warmup_s: float = 5.0
    session_users: int = 300
    through_users: int = 100
    """Users whose interactions come without an app_open (write-through) in the session mix."""
    session_min: int = 10
    session_max: int = 50
    gap_s: float = 0.4
    """Mean pause between a user's interactions (drawn from 0.5x to 1.5x: always < idle_s)."""
    spread_s: float = 20.0
    """The session mix's users start within this many seconds."""
    idle_s: int = 3
    tick_s: float = 0.5

    def __post_init__(self) -> None:
        counts = (self.users, self.history, self.last_n, self.partitions, self.session_min)
        if min(counts) < 1 or self.session_max < self.session_min:
            raise ValueError("users, history, last_n, partitions and session sizes must be >= 1")
        rates = (self.background_rate, self.app_open_rate, self.alone_rate, self.alone_users)
        if min(*rates, self.gap_s, self.tick_s) <= 0:
            raise ValueError("rates, alone_users, gap_s and tick_s must be positive")
        if self.session_users + self.through_users < 1:
            raise ValueError("the session mix needs at least one user")
        if self.gap_s * 1.5 >= self.idle_s:
            raise ValueError(f"gap_s x 1.5 must stay under idle_s ({self.idle_s}s)")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "history_mix": dict(HISTORY_MIX), "session_mix": dict(DEFAULT_MIX)}


# -- generated traffic


def interaction_record(kind: str, user: str, event_id: str, ts: int, rng: random.Random) -> Record:
    """An event record of an interaction kind, valid for the producer and the worker."""
    product = rng.randrange(5_000)
    record: Record = {
        "event_id": event_id,
        "user_id": user,
        "ts": ts,
        "product_id": f"prod-{product:07d}",
        "category_id": f"cat-{product % 200:04d}",
    }
    if kind == "click":
        record |= {"surface": rng.choice(SURFACES), "position": rng.randrange(50)}
    elif kind == "order":
        price = Decimal(99 + product * 37 % 50_000).scaleb(-2)
        record |= {
            "order_id": f"order-{rng.getrandbits(48):012x}",
            "quantity": rng.choice((1, 1, 1, 2, 3)),
            "price": price,
            "currency": "EUR",
        }
    else:
        record["action"] = "ADD" if rng.random() < 0.75 else "REMOVE"
    return record


def pick_kind(rng: random.Random, mix: Mapping[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def history(user: str, count: int, now_ms: int, days: int, seed: int) -> list[Interaction]:
    """``count`` interactions of ``user`` over the last ``days`` (up to a minute ago)."""
    rng = random.Random(f"{seed}:{user}")
    newest = now_ms - 60_000
    oldest = now_ms - days * DAY_MS
    out = []
    for n in range(count):
        kind = pick_kind(rng, HISTORY_MIX)
        ts = rng.randint(oldest, newest)
        out.append(
            Interaction.from_record(kind, interaction_record(kind, user, f"{user}-h{n}", ts, rng))
        )
    return out


def expected_hot(items: Sequence[Interaction], last_n: int) -> dict[str, int]:
    """How many interactions of each kind a hydration keeps: the newest ``last_n``."""
    kinds = Counter(item.kind for item in items)
    return {kind: min(kinds[kind], last_n) for kind in INTERACTION_KINDS}


class Planned(NamedTuple):
    at_s: float
    """Seconds after the start of producing."""
    kind: str
    record: Record


@dataclass(frozen=True, slots=True)
class SessionMix:
    events: list[Planned]
    session_interactions: int
    """Interactions after an app_open: they go to live sessions, then to cold by a flush."""
    through_interactions: int
    """Interactions of users with no app_open: written straight to cold."""

    @property
    def interactions(self) -> int:
        return self.session_interactions + self.through_interactions

    def write_through(self) -> SessionMix:
        """The same traffic without its app_opens: every interaction goes straight to cold."""
        events = [event for event in self.events if event.kind != "app_open"]
        return SessionMix(events, 0, self.interactions)


def session_mix(params: HydrateParams, start_ms: int) -> SessionMix:
    """Users who open the app, act ``session_min``..``session_max`` times and go idle, and
    users who act as often without an app_open; all start within ``spread_s``."""
    rng = random.Random(params.seed)
    events: list[Planned] = []
    counted = {True: 0, False: 0}
    users = [(f"s{n:05d}", True) for n in range(params.session_users)]
    users += [(f"w{n:05d}", False) for n in range(params.through_users)]
    for user, opens in users:
        at = rng.uniform(0, params.spread_s)
        if opens:
            record = {"event_id": f"{user}-open", "user_id": user, "ts": start_ms + int(at * 1000)}
            record |= {"app_version": "5.4.0", "platform": "android"}
            events.append(Planned(at, "app_open", record))
        for n in range(rng.randint(params.session_min, params.session_max)):
            at += rng.uniform(0.5, 1.5) * params.gap_s
            kind = pick_kind(rng, DEFAULT_MIX)
            ts = start_ms + int(at * 1000)
            events.append(Planned(at, kind, interaction_record(kind, user, f"{user}-{n}", ts, rng)))
            counted[opens] += 1
    events.sort(key=lambda event: event.at_s)
    return SessionMix(events, counted[True], counted[False])


# -- figures


def latency_figures(seconds: Sequence[float]) -> dict[str, Any]:
    """p50/p99/mean/max in milliseconds of measured samples."""
    return {
        "count": len(seconds),
        "p50_ms": round(1000 * percentile(seconds, 0.5), 2),
        "p99_ms": round(1000 * percentile(seconds, 0.99), 2),
        "mean_ms": round(1000 * sum(seconds) / len(seconds), 2),
        "max_ms": round(1000 * max(seconds), 2),
    }


@dataclass(frozen=True, slots=True)
class WriteCost:
    """Cold-tier statements one path sent for its interactions."""

    interactions: int
    statements: int

    @property
    def per_interaction(self) -> float:
        return self.statements / self.interactions if self.interactions else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "interactions": self.interactions,
            "statements": self.statements,
            "statements_per_interaction": round(self.per_interaction, 4),
        }


def hydrate_targets(worker_p99_s: float, session_cost: float) -> list[Target]:
    return [
        Ceiling("hydration p99 (worker) <= 20 ms", 1000 * worker_p99_s, 20, "ms"),
        Ceiling("cold statements per session interaction <= 0.1", session_cost, 0.1),
    ]


def build_result(
    params: HydrateParams,
    hydration: Mapping[str, Any],
    raw: Mapping[str, Any],
    sessions: Mapping[str, Any],
    through: Mapping[str, Any],
    host: Mapping[str, Any],
) -> tuple[BenchResult, list[Target]]:
    """``hydration["worker"]``/``raw`` hold p99_ms; ``sessions["flush"]`` statements/interaction."""
    worker_p99_s = hydration["worker"]["p99_ms"] / 1000
    headline = ratio(worker_p99_s, raw["p99_ms"] / 1000)
    targets = hydrate_targets(worker_p99_s, sessions["flush"]["statements_per_interaction"])
    figures = {
        "hydration": dict(hydration),
        "sessions": dict(sessions),
        "targets": [target.to_json() for target in targets],
    }
    baseline = {"raw_hydration": dict(raw), "write_through": dict(through)}
    return BenchResult("hydrate", params.to_json(), figures, baseline, headline, host), targets


ROWS = (
    ("worker", "worker", "app_open consumed -> hot view complete"),
    ("worker", "worker_work", "its cold read -> hot view complete"),
    ("outside", "outside", "produce ack -> live in Redis"),
)
"""The latency rows of each app_open phase: who measured, the figures' key, what."""


def render(result: BenchResult) -> list[Any]:
    hydration, sessions = result.figures["hydration"], result.figures["sessions"]
    raw, through = result.baseline["raw_hydration"], result.baseline["write_through"]

    def latency(name: str, what: str, figures: Mapping[str, Any], share: str) -> list[str]:
        columns = ("p50_ms", "p99_ms", "mean_ms", "max_ms")
        cells = [f"{figures[c]:.1f}" if c in figures else "" for c in columns]
        return [name, what, *cells, share, str(figures["count"])]

    params, alone = result.params, hydration["one_per_batch"]
    raw_p99 = raw["p99_ms"]

    def versus(figures: Mapping[str, Any]) -> str:
        return f"{figures['p99_ms'] / raw_p99:.2f}x" if raw_p99 > 0 else ""

    rate, slow = f"{params['app_open_rate']:g}/s", f"{params['alone_rate']:g}/s"
    latencies = figures_table(
        f"hydrate: users with {params['history']:,} interactions in cold (newest "
        f"{params['last_n']} per kind kept), while the worker consumes "
        f"{hydration['events_consumed_per_s']:,.0f} events/s",
        ("measurement", "measured", "p50 ms", "p99 ms", "mean ms", "max ms", "p99 vs raw", "n"),
        [
            *(latency(f"{who}, {rate}", what, hydration[key], versus(hydration[key]))
              for who, key, what in ROWS if key in hydration),
            *(latency(f"{who}, {slow}", what, alone[key], versus(alone[key]))
              for who, key, what in ROWS if key in alone),
            latency(f"raw baseline, {rate}", "driver SELECTs + 1 redis pipeline", raw, "1.00x"),
        ],
    )  # fmt: skip

    def cost(name: str, figures: Mapping[str, Any]) -> list[str]:
        per = figures["statements_per_interaction"]
        return [name, f"{figures['interactions']:,}", f"{figures['statements']:,}", f"{per:.3f}"]

    costs = figures_table(
        "cold writes: statements (a row, or an UNLOGGED batch) per interaction",
        ("path", "interactions", "statements", "per interaction"),
        [
            cost("sessions run: flush (in sessions)", sessions["flush"]),
            cost("sessions run: direct (no app_open)", sessions["direct"]),
            cost("write-through run: direct (all)", through["direct"]),
        ],
    )
    return [latencies, costs]
