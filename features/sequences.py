"""``last_n`` feature values, read from the interaction store's read path (``store.read_path``:
hot if the user is live, else cold), the same call as ``GET /v1/users/{id}/interactions`` with
the feature's kinds and ``limit=n``, so the two never disagree. ``FeatureReader`` uses it for
``get`` and ``columns``."""

from __future__ import annotations

import asyncio
from typing import Any, Literal, NamedTuple

from features.catalogue import FeatureRef
from features.definitions import LastNFeature
from store.errors import ColdStoreUnavailable, FeatureStoreUnavailable, ReadTimedOut, StoreError
from store.hot import HotStoreUnavailable
from store.read_path import InteractionReader, JsonRow, ReadFailed

Status = Literal["present", "missing", "stale"]
_TRANSIENT = (HotStoreUnavailable, ColdStoreUnavailable, ReadTimedOut, FeatureStoreUnavailable)


class FeatureValue(NamedTuple):
    value: Any
    status: Status


async def read_sequences(
    interactions: InteractionReader | None, refs: list[FeatureRef], user_ids: list[str]
) -> dict[str, list[FeatureValue]]:
    """Each ``last_n`` feature's value per user: one read path call per set of kinds."""
    by_kinds: dict[tuple[str, ...], list[FeatureRef]] = {}
    for ref in refs:
        by_kinds.setdefault(ref.definition.event_kinds, []).append(ref)
    reads = [
        _recent(interactions, user_ids, kinds, max(_last_n(r).n for r in same))
        for kinds, same in by_kinds.items()
    ]
    out: dict[str, list[FeatureValue]] = {}
    for same, rows_per_user in zip(by_kinds.values(), await asyncio.gather(*reads), strict=True):
        for ref in same:
            field, n = _last_n(ref).field, _last_n(ref).n
            out[ref.name] = [
                FeatureValue([row[field] for row in rows[:n]], "present")
                if rows
                else FeatureValue(ref.default, "missing")
                for rows in rows_per_user
            ]
    return out


async def _recent(
    interactions: InteractionReader | None, user_ids: list[str], kinds: tuple[str, ...], limit: int
) -> list[list[JsonRow]]:
    if not user_ids or interactions is None:
        return []
    outcomes = await interactions.recent_json_many(user_ids, kinds=kinds, limit=limit)
    rows: list[list[JsonRow]] = []
    for outcome in outcomes:
        if isinstance(outcome, ReadFailed):
            raise _as_feature_error(outcome.error)
        rows.append(outcome.interactions)
    return rows


def _last_n(ref: FeatureRef) -> LastNFeature:
    assert isinstance(ref.definition, LastNFeature)
    return ref.definition


def _as_feature_error(error: StoreError) -> StoreError:
    if isinstance(error, _TRANSIENT):
        unavailable = FeatureStoreUnavailable(f"last_n read: {error}")
        unavailable.__cause__ = error
        return unavailable
    return error
