"""The parameters of `bench capacity` and the figures made from its measurements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.capacity.memory import Usage
from benchmarks.harness.figures import figures_table
from streams.outgoing import OutgoingEvent


@dataclass(frozen=True, slots=True)
class CapacityParams:
    users: int = 2_000
    history_events: int = 40_000
    """Over the day before: interactions written straight to the cold tier."""
    session_events: int = 20_000
    """In the last half hour, app_opens first: every user hydrated and live."""
    partitions: int = 12
    seed: int = 42

    def __post_init__(self) -> None:
        if min(self.users, self.history_events, self.session_events, self.partitions) < 1:
            raise ValueError("users, events and partitions must be positive")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _per(value: float, count: float) -> float:
    return round(value / count, 1) if count else 0.0


def capacity_figures(
    params: CapacityParams,
    hot: Usage,
    features: Usage,
    rows: int,
    disk: Mapping[str, int],
    history: Sequence[OutgoingEvent],
    sessions: Sequence[OutgoingEvent],
) -> dict[str, Any]:
    """Bytes per live user (every hot key, indexes included, over the users with a session),
    per hot interaction, per feature entity (serving values and state of each entity kind), per
    cold row (SSTables of the interactions table, and of the whole keyspace)."""
    live = len(hot.ids.get("user", set()))
    interactions = sum(1 for e in (*history, *sessions) if e.kind != "app_open")
    table = disk.get("interactions", 0)
    keyspace = sum(disk.values())
    return {
        "hot": {
            "live_users": live,
            "interactions_per_live_user": _per(interactions, params.users),
            "bytes_per_live_user": _per(hot.total, live),
            "bytes_per_interaction": _per(hot.total, interactions),
            **hot.to_json(),
        },
        "features": {**features.to_json()},
        "cold": {
            "rows": rows,
            "rows_per_user": _per(rows, params.users),
            "interactions_table_bytes": table,
            "bytes_per_row": _per(table, rows),
            "keyspace_bytes": keyspace,
            "keyspace_bytes_per_row": _per(keyspace, rows),
            "sstable_bytes_by_table": dict(disk),
        },
    }


def capacity_table(figures: Mapping[str, Any]) -> Any:
    hot, cold = figures["hot"], figures["cold"]
    rows = [
        ["hot: live users", f"{hot['live_users']:,}", ""],
        ["hot: bytes per live user", f"{hot['bytes_per_live_user']:,.0f}",
         f"{hot['interactions_per_live_user']:.1f} interactions each"],
        ["hot: bytes per interaction held", f"{hot['bytes_per_interaction']:,.0f}", ""],
        *(
            [f"features: bytes per {entity}", f"{e['bytes_per_id']:,}", f"{e['ids']:,} ids"]
            for entity, e in figures["features"]["by_entity"].items()
        ),
        ["cold: bytes per row (interactions table)", f"{cold['bytes_per_row']:,.0f}",
         f"{cold['rows']:,} rows"],
        ["cold: bytes per row (whole keyspace)", f"{cold['keyspace_bytes_per_row']:,.0f}", ""],
    ]  # fmt: skip
    return figures_table("capacity: measured sizes", ("figure", "value", "of"), rows)
