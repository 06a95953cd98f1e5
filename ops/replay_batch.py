"""One consumed batch of a replay, judged with the worker's rules: what to write, what to
dead-letter, what to skip (past retention, forgotten users, users not asked for), per kind.

With the features target, every valid interaction of a user asked for also becomes a feature
event, forgotten or expired or not: the feature updater applies them as the live features worker
does (it skips forgotten users' events in their own entities; windows and lateness decide the
rest), so the two build the same states."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.settings import RetentionSettings
from features.aggregate import FeatureEvent
from features.routing import feature_event
from schemas.codec import Codec
from schemas.errors import SchemaError
from schemas.intake import check_message, dead_letter_headers
from store.cold import ttl_seconds
from store.interactions import INTERACTION_KINDS, Interaction
from store.tombstones import TombstoneCache

COUNTS = ("read", "written", "features", "expired", "forgotten", "other_users", "dead_lettered")
YIELD_EVERY = 500
"""Messages judged between yields to the event loop (the previous batch's writes go on)."""


@dataclass(frozen=True, slots=True)
class Letter:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, str | bytes | None]]


@dataclass(slots=True)
class Judged:
    """A batch: interactions to write, dead letters, counts, and the next offset per partition."""

    interactions: list[Interaction] = field(default_factory=list)
    feature_events: list[FeatureEvent] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {c: Counter() for c in COUNTS})
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    advanced: Counter[tuple[str, int]] = field(default_factory=Counter)
    """Offsets covered per partition (gaps included), for the progress bar."""


class BatchJudge:
    def __init__(
        self,
        codec: Codec,
        retention: RetentionSettings,
        tombstones: TombstoneCache,
        *,
        dead_letter_topic: str,
        users: frozenset[str] | None,
        cold: bool = True,
        features: bool = False,
    ) -> None:
        """``cold``, ``features``: which targets get the batch's events."""
        self.codec = codec
        self.retention = retention
        self.tombstones = tombstones
        self.dead_letter_topic = dead_letter_topic
        self.users = users
        self.cold = cold
        self.features = features

    async def judge(
        self, messages: Sequence[Any], ends: dict[tuple[str, int], int],
        positions: dict[tuple[str, int], int], now_ms: int,
    ) -> Judged:  # fmt: skip
        """``messages`` are confluent-kafka messages; those at or past their partition's end
        are left out. ``positions`` (next offset per partition) is advanced in place."""
        out = Judged()
        for index, message in enumerate(messages):
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            tp = (message.topic(), message.partition())
            offset = message.offset()
            if offset >= ends[tp] or offset < positions[tp]:
                continue
            out.advanced[tp] += offset + 1 - positions[tp]
            positions[tp] = out.next_offsets[tp] = offset + 1
            self._one(message, tp, offset, now_ms, out)
        return out

    def _one(
        self, message: Any, tp: tuple[str, int], offset: int, now_ms: int, out: Judged
    ) -> None:
        value: bytes = message.value() or b""
        try:
            event = check_message(self.codec, value, key=message.key(), now_ms=now_ms)
        except SchemaError as exc:
            kind = self.codec.kind_of(value) or "unknown"
            out.counts["read"][kind] += 1
            out.counts["dead_lettered"][kind] += 1
            headers: list[tuple[str, str | bytes | None]] = [
                *dead_letter_headers(exc.reason, str(exc), tp[0], tp[1], offset)
            ]
            out.letters.append(Letter(self.dead_letter_topic, message.key(), value, headers))
            return
        kind, record = event.kind, event.record
        out.counts["read"][kind] += 1
        user_id, ts_ms = record["user_id"], int(record["ts"])
        if self.users is not None and user_id not in self.users:
            out.counts["other_users"][kind] += 1
            return
        if self.features:
            found = feature_event(kind, record, tp[1], offset)
            if found is not None:
                out.feature_events.append(found)
                out.counts["features"][kind] += 1
        if self.tombstones.is_forgotten(user_id, ts_ms):
            out.counts["forgotten"][kind] += 1
        elif not self.cold or kind not in INTERACTION_KINDS:
            pass  # not asked for, or an app_open: a session event, nothing for the cold tier
        elif ttl_seconds(self.retention.days(kind), ts_ms, now_ms) <= 0:
            out.counts["expired"][kind] += 1
        else:
            out.interactions.append(Interaction.from_record(kind, record))
