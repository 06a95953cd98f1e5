"""Which queued app_opens a round of early hydration takes (``streams.early_hydration``).

A round holds the worker lock for its hot-tier write, whose time grows with the members it
writes: a user of 1,000 interactions writes up to 1,500 (500 per kind), 5-10 ms of the lock on a
busy box. A round bounded by app_opens alone grew with the queue: a worker that fell behind
queued more app_opens per round, each round held the lock longer (p50 500 ms), batches waited
longer for it, and the worker fell further behind. So a round is bounded by members too.
"""

from __future__ import annotations

from collections.abc import Iterable

ROUND_MAX = 64
"""App_opens hydrated per round (one hold of the worker lock), at most."""
ROUND_MEMBERS_MAX = 12_000
"""Members a round writes to the hot tier, at most (unless its first user alone has more)."""


def take_round(sizes: Iterable[tuple[str, int]], members_max: int = ROUND_MEMBERS_MAX) -> list[str]:
    """The users a round takes from ``sizes`` (ready users, in queue order, with the members
    each writes): in order, while within ``ROUND_MAX`` users and ``members_max`` members; the
    first user whatever its size."""
    taken: list[str] = []
    members = 0
    for user, size in sizes:
        if taken and (len(taken) == ROUND_MAX or members + size > members_max):
            break
        taken.append(user)
        members += size
    return taken
