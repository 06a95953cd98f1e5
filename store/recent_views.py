"""Compact recent views: a user's newest interactions per kind as packed hot-tier members, so a
hydration reads one small partition and hands the members to the hot tier as they are.

Each write of interactions to the cold tier (``write_many``: a batch's direct writes, a session
flush, a replay) also appends a *delta pack* to the user's view partition: its interactions as
``(kind slot, ts_ms, hot member)`` entries (``store.hot_codec``'s member bytes, so the hot tier
never re-encodes them). A hydration reads every pack of the user in one request and ``merge``s
them: per kind, entries inside the kind's read window (the same window as the cold read),
deduplicated by (ts, event id) with the later write winning (as a rewritten row does), the newest
``limit`` in the cold tier's order. It then *refreshes* the view: one *base pack* (the merge,
trimmed to ``limit`` per kind, expired entries dropped, entries still ahead of the window kept)
replaces the packs it read, so the next hydration reads one pack.

The answer is the old path's (``ColdStore.hydration_rows``) whenever the packs are
*authoritative*: the newest base is trimmed to at least ``limit``, or there is no base and every
interaction of the keyspace was written with its delta (``complete``). A refresh replaces the
packs it read atomically, so the newest base covers everything written before it. A trimmed
entry is older than the ``limit`` entries kept in window, and one kind's retention is the same
for all, so it expires before them: it can never come back into a newest ``limit``. Otherwise
(history written before views existed, a base trimmed shorter than asked) the caller reads the
individual rows and writes a base from them. A lost delete or a resurrected pack only repeats
entries the merge removes again: packs are a set, merged idempotently.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from store.hot_codec import SEPARATOR, encode
from store.interactions import INTERACTION_KINDS, Interaction

HotMember = tuple[int, bytes]
"""(ts_ms, member): one interaction as the hot tier keeps it."""
Window = tuple[int, int]
"""(oldest, newest) ts a read returns, both included (``cold.read_window``)."""
KIND_SLOT = {kind: slot for slot, kind in enumerate(INTERACTION_KINDS)}
DELTA = -1
"""A pack's ``keep`` when it is a delta (not trimmed: everything written)."""


def pack_delta(interactions: Iterable[Interaction]) -> bytes:
    """A delta pack of these interactions (write order kept: a later one wins)."""
    flat: list[Any] = [DELTA]
    for item in interactions:
        flat += (KIND_SLOT[item.kind], item.ts_ms, encode(item))
    packed: bytes = msgpack.packb(flat, use_bin_type=True)
    return packed


def pack_base(keep: int, members: Mapping[str, Sequence[HotMember]]) -> bytes:
    """A base pack: per kind (in slot order) its times and members, newest first (the cold
    tier's order): ``[keep, times of slot 0, members of slot 0, times of slot 1, ...]``. A
    hydration whose partition holds just this base slices its window out of each kind."""
    flat: list[Any] = [keep]
    for kind in INTERACTION_KINDS:
        ordered = sorted(members.get(kind, ()), key=newest_first)
        flat += ([ts_ms for ts_ms, _ in ordered], [member for _, member in ordered])
    packed: bytes = msgpack.packb(flat, use_bin_type=True)
    return packed


def entries(flat: list[Any]) -> Iterator[tuple[int, int, bytes]]:
    """A pack's ``(slot, ts_ms, member)`` entries, in write order."""
    if flat[0] == DELTA:
        yield from zip(flat[1::3], flat[2::3], flat[3::3], strict=True)
        return
    for slot in range(len(INTERACTION_KINDS)):
        times, members = flat[1 + 2 * slot], flat[2 + 2 * slot]
        for ts_ms, member in zip(times, members, strict=True):
            yield slot, ts_ms, member


def event_id_of(member: bytes) -> bytes:
    """The event id a hot member starts with (``store.hot_codec``: id, ``SEPARATOR``, JSON)."""
    return member.rpartition(SEPARATOR)[0]


_PAST_ANY_ID = b"\xff"
"""Sorts after every event id (ids are UTF-8 text, which never holds byte 0xff)."""


def newest_first(entry: HotMember) -> tuple[int, bytes]:
    """The cold tier's order: newest first, equal times in event-id order."""
    return -entry[0], event_id_of(entry[1])


@dataclass(frozen=True, slots=True)
class Merged:
    view: dict[str, list[HotMember]]
    """Per kind, the newest ``limit`` in window, newest first: the hydration's answer."""
    base: dict[str, list[HotMember]]
    """Per kind, what the refreshed base keeps: ``view`` and the entries ahead of the window."""
    refresh: bool
    """Whether writing ``base`` (replacing the packs read) changes anything."""


def merge(
    packs: Sequence[bytes], *, limit: int, windows: Mapping[str, Window], complete: bool
) -> Merged | None:
    """The packs (oldest write first) merged at these windows; None if they are not
    authoritative for ``limit``: the newest base is trimmed shorter than ``limit``, or there is
    no base and the keyspace is not ``complete``."""
    unpacked = [msgpack.unpackb(pack, raw=False, use_list=True) for pack in packs]
    if len(unpacked) == 1 and unpacked[0][0] != DELTA:
        return _sliced(unpacked[0], limit, windows)
    # Per kind, the latest member of each (-ts, event id): the key sorts in the cold tier's
    # order (newest first, equal times in event-id order) as it is, without a key function.
    latest: list[dict[tuple[int, bytes], bytes]] = [{} for _ in INTERACTION_KINDS]
    authoritative = complete
    for flat in unpacked:
        keep = flat[0]
        if keep != DELTA:  # a base covers everything written before it, trimmed to ``keep``
            authoritative = keep >= limit
        for slot, ts_ms, member in entries(flat):
            latest[slot][-ts_ms, event_id_of(member)] = member
    if not authoritative:
        return None
    view: dict[str, list[HotMember]] = {}
    base: dict[str, list[HotMember]] = {}
    dropped = len(packs) > 1
    for kind, found in zip(INTERACTION_KINDS, latest, strict=True):
        oldest, newest = windows[kind]
        ordered = sorted(found)
        start = bisect_left(ordered, (-newest,))  # the first at or before newest
        end = bisect_right(ordered, (-oldest, _PAST_ANY_ID))  # past the last at or after oldest
        inside = [(-ts, found[ts, eid]) for ts, eid in ordered[start : min(end, start + limit)]]
        ahead = [(-ts, found[ts, eid]) for ts, eid in ordered[:start]]
        dropped = dropped or len(inside) + len(ahead) < len(found)
        view[kind] = inside
        base[kind] = ahead + inside
    return Merged(view, base, dropped)


def _negated(ts_ms: int) -> int:
    return -ts_ms


def _sliced(flat: list[Any], limit: int, windows: Mapping[str, Window]) -> Merged | None:
    """The partition holds one base: each kind's window is a slice of its sorted columns (no
    merging); it needs a refresh only when entries of it have expired."""
    if flat[0] < limit:
        return None
    view: dict[str, list[HotMember]] = {}
    base: dict[str, list[HotMember]] = {}
    expired = False
    for slot, kind in enumerate(INTERACTION_KINDS):
        times, members = flat[1 + 2 * slot], flat[2 + 2 * slot]
        oldest, newest = windows[kind]
        start = bisect_left(times, -newest, key=_negated)  # the first at or before newest
        end = bisect_right(times, -oldest, key=_negated)  # past the last at or after oldest
        view[kind] = list(
            zip(times[start : min(end, start + limit)], members[start:], strict=False)
        )
        expired = expired or end < len(times)
        base[kind] = list(zip(times[:end], members[:end], strict=True))
    return Merged(view, base, expired)
