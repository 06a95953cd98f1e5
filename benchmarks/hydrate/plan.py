"""The pure parts of `interstore bench hydrate`: its parameters and the traffic it generates
(cold history per user, the session mix)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from benchmarks.harness.records import HISTORY_MIX, Record, interaction_record, pick_kind
from interstore.demo_events import DEFAULT_MIX
from store.buckets import DAY_MS
from store.interactions import INTERACTION_KINDS, Interaction


@dataclass(frozen=True, slots=True)
class HydrateParams:
    name: str = "hydrate"
    """The result's name (its file: ``benchmarks/results/NAME.json``)."""
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
