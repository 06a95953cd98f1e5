"""What a `bench ingest` run stored, checked by event id: every interaction produced must be in
the cold tier or dirty in a live hot session, once.

The tiers are a union, not a sum: an interaction flushed to cold by a worker that lost its
partition can be consumed again by the partition's next owner (Kafka redelivers from the last
committed offset) and be dirty in its live session as well; its flush rewrites the same cold row
(the event id is part of the key), so it is one interaction, counted once and reported as
``in_both_tiers``. A real duplicate is a second copy inside one tier (two cold rows, or two
dirty entries, with one event id); a missing interaction is in neither."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cassandra.cluster import Session

from benchmarks.harness.scratch import COUNT_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class Verification:
    expected: int
    found: int
    """Distinct expected interactions found in either tier."""
    missing: int
    duplicated: int
    """Extra copies inside one tier (cold rows or hot dirty entries sharing an event id)."""
    unexpected: int
    """Distinct event ids stored that were never produced."""
    in_both_tiers: int
    cold_rows: int
    hot_dirty: int

    @property
    def exact(self) -> bool:
        return self.found == self.expected and not (
            self.missing or self.duplicated or self.unexpected
        )

    def to_json(self) -> dict[str, int]:
        return {
            "found": self.found,
            "missing": self.missing,
            "duplicated": self.duplicated,
            "unexpected": self.unexpected,
            "in_both_tiers": self.in_both_tiers,
            "cold_rows": self.cold_rows,
            "hot_dirty": self.hot_dirty,
        }


def verify(expected: Iterable[str], cold: Sequence[str], hot: Sequence[str]) -> Verification:
    """``cold``: the event id of every cold row; ``hot``: of every dirty hot entry."""
    wanted = set(expected)
    cold_ids, hot_ids = Counter(cold), Counter(hot)
    stored = cold_ids.keys() | hot_ids.keys()
    duplicated = sum(n - 1 for n in cold_ids.values()) + sum(n - 1 for n in hot_ids.values())
    return Verification(
        expected=len(wanted),
        found=len(stored & wanted),
        missing=len(wanted - stored),
        duplicated=duplicated,
        unexpected=len(stored - wanted),
        in_both_tiers=len(cold_ids.keys() & hot_ids.keys()),
        cold_rows=len(cold),
        hot_dirty=len(hot),
    )


def cold_event_ids(session: Session, keyspace: str) -> list[str]:
    """The event id of every row of the keyspace's interactions table (copies included)."""
    rows = session.execute(
        f"SELECT event_id FROM {keyspace}.interactions",  # noqa: S608 - our own keyspace name
        timeout=COUNT_TIMEOUT_S,
    )
    return [row.event_id for row in rows]
