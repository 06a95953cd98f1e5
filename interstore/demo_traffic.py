"""The demo's traffic plan: app sessions paced in real time, plus a few malformed messages.

The records come from ``interstore.demo_events.generate_events`` (its users, products, kinds mix
and per-user session structure); this module only decides *when* each session happens:

- at the start a cohort of users opens the app within the first seconds, then new sessions
  arrive at a steady rate, so the event rate is about ``rate`` from the first seconds on;
- in a session the user's events follow each other by random gaps (``mean_gap_s``); after its
  last event the user goes idle (sends nothing), and the worker ends the session once its idle
  timeout has passed;
- a user comes back for its next session no sooner than ``return_gap_s`` after its last event.

Each event is timestamped when it is sent (the start of the traffic plus its offset), so events
are sent when they say they happened. The plan is pure and deterministic in ``seed``.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from interstore.demo_events import generate_events
from schemas.codec import MAGIC, Codec
from streams.outgoing import OutgoingEvent, prepare_event

Record = dict[str, Any]

MALFORMED_FLAVOURS = ("json_not_avro", "unknown_schema", "negative_quantity", "ts_before_2000")
"""What the malformed messages are, in turn; the worker dead-letters them as ``bad_magic``,
``unknown_schema``, ``negative_quantity`` and ``ts_out_of_range``."""
MALFORMED_KEY = "demo-malformed"


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    at_s: float
    """When to send it, in seconds from the start of the traffic."""
    kind: str
    record: Record


@dataclass(frozen=True, slots=True)
class Malformed:
    at_s: float
    flavour: str
    seq: int


Entry = PlannedEvent | Malformed


@dataclass
class TrafficPlan:
    entries: list[Entry]
    """In send order."""
    last_seen_s: dict[str, float] = field(default_factory=dict)
    """Each user's last planned event, in seconds from the start."""
    interactions_by_user: Counter[str] = field(default_factory=Counter)
    """Planned clicks, orders and wishlist changes of each user (app-opens not counted)."""
    sessions: int = 0

    @property
    def events(self) -> int:
        return len(self.entries)


def _sessions(users: int, seed: int, count: int) -> list[tuple[str, list[tuple[str, Record]]]]:
    """The generator's events cut into sessions (an app_open and what follows it), in the
    order the sessions start."""
    sessions: list[tuple[str, list[tuple[str, Record]]]] = []
    current: dict[str, list[tuple[str, Record]]] = {}
    for kind, record in generate_events(users, count, seed, 0):
        user = record["user_id"]
        if kind == "app_open":
            current[user] = []
            sessions.append((user, current[user]))
        current[user].append((kind, record))
    return sessions


def build_plan(
    *,
    duration_s: float,
    rate: float,
    users: int,
    seed: int,
    mean_gap_s: float = 0.8,
    return_gap_s: float = 20.0,
    opening_s: float = 3.0,
    malformed_every_s: float = 4.0,
) -> TrafficPlan:
    """About ``rate`` events/s for ``duration_s`` seconds across up to ``users`` users.

    ``rate * mean_gap_s`` users are in a session at any time: when one goes idle, the next
    user opens the app. A user comes back no sooner than ``return_gap_s`` after its last
    event: the generator's next sessions of a busy user wait until then, in order (its Zipf
    weights would otherwise keep the most active users in a session for ever).
    """
    if duration_s <= 0 or rate <= 0 or users < 1 or mean_gap_s <= 0:
        raise ValueError("duration, rate, users and mean_gap_s must be positive")
    rng = random.Random(seed)
    sessions = iter(_sessions(users, seed, int(rate * duration_s * 2) + 100))
    busy_until: dict[str, float] = {}
    queued: dict[str, deque[list[tuple[str, Record]]]] = {}  # sessions of users who were busy
    free_at: list[tuple[float, str]] = []  # a heap: when each user with queued sessions is free
    plan = TrafficPlan([])

    def next_session(at: float) -> list[tuple[str, Record]] | None:
        """The next session of a user free at ``at``: one that had to wait first, else the
        generator's next (a busy user's sessions wait, in order)."""
        while free_at and free_at[0][0] <= at:
            _, user = heapq.heappop(free_at)
            if busy_until[user] > at:
                heapq.heappush(free_at, (busy_until[user], user))
                continue
            events = queued[user].popleft()
            if queued[user]:
                heapq.heappush(free_at, (at + return_gap_s, user))
            else:
                del queued[user]
            return events
        for user, events in sessions:
            if user not in queued and busy_until.get(user, 0.0) <= at:
                return events
            if user not in queued:
                queued[user] = deque()
                heapq.heappush(free_at, (busy_until[user], user))
            queued[user].append(events)
        return None

    opening_s = min(opening_s, duration_s / 4)
    slots = [(rng.uniform(0, opening_s), slot) for slot in range(max(1, int(rate * mean_gap_s)))]
    heapq.heapify(slots)
    current: dict[int, Iterator[tuple[str, Record]]] = {}
    while slots:
        at, slot = heapq.heappop(slots)
        if at >= duration_s:
            break
        found = next(current[slot], None) if slot in current else None
        if found is None:  # the slot's user went idle (or it is the start): the next user opens
            events = next_session(at)
            if events is None:  # everyone is busy: this slot tries again a little later
                heapq.heappush(slots, (at + mean_gap_s, slot))
                continue
            plan.sessions += 1
            current[slot] = iter(events)
            found = next(current[slot])
        kind, record = found
        user = record["user_id"]
        plan.entries.append(PlannedEvent(at, kind, record))
        plan.last_seen_s[user] = at
        plan.interactions_by_user[user] += kind != "app_open"
        busy_until[user] = at + return_gap_s
        heapq.heappush(slots, (at + rng.expovariate(1 / mean_gap_s), slot))
    for seq in range(int(duration_s / malformed_every_s)):
        flavour = MALFORMED_FLAVOURS[seq % len(MALFORMED_FLAVOURS)]
        plan.entries.append(Malformed((seq + 0.5) * malformed_every_s, flavour, seq))
    plan.entries.sort(key=lambda entry: entry.at_s)
    return plan


def malformed_event(entry: Malformed, *, now_ms: int, codec: Codec) -> OutgoingEvent:
    """Bytes the worker must dead-letter, built past the producer's validation."""
    event_id = f"demo-malformed-{entry.seq}"
    if entry.flavour == "json_not_avro":
        value = b'{"kind": "click", "user_id": "u1", "note": "JSON, not Avro"}'
    elif entry.flavour == "unknown_schema":
        value = MAGIC + bytes(range(8)) + b"\x00" * 16
    else:
        record: Record = {
            "event_id": event_id, "user_id": MALFORMED_KEY, "ts": now_ms,
            "product_id": "prod-0000001", "category_id": "cat-0001", "order_id": event_id,
            "quantity": 1, "price": Decimal("19.9900"), "currency": "EUR",
        }  # fmt: skip
        if entry.flavour == "negative_quantity":
            record["quantity"] = -2
        else:
            record["ts"] = 631_152_000_000  # 1990-01-01
        value = codec.encode("order", record)
    return OutgoingEvent("malformed", event_id, MALFORMED_KEY.encode(), value)


def outgoing(entry: Entry, *, start_ms: int, now_ms: int, codec: Codec) -> OutgoingEvent:
    """The message to send for a plan entry, timestamped ``start_ms`` + its offset (valid
    events pass the producer's own checks)."""
    if isinstance(entry, Malformed):
        return malformed_event(entry, now_ms=now_ms, codec=codec)
    record = {**entry.record, "ts": start_ms + int(entry.at_s * 1000)}
    return prepare_event(entry.kind, record, now_ms=now_ms, codec=codec)
