"""FeatureReader: feature values of many entities in one call.

Served features come from one read of the feature store (one MGET, or one per hash slot) for
every (id, group) pair; ``last_n`` features come from the interaction store's read path
(``store.read_path``: hot if the user is live, else cold), the same call as
``GET /v1/users/{id}/interactions`` with the feature's kinds and ``limit=n``, so the two never
disagree. Every value has a status:

- ``missing``: no serving value (never computed, or computed under other definitions, or
  unreadable), or an empty ``last_n``: the feature's declared default is returned;
- ``stale``: ``now_ms > valid_until_ms + max_age`` of its group (the refresher is late);
- ``present``: otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

from core.clock import Clock, wall_clock_ms
from core.settings import Settings
from features.catalogue import Catalogue, FeatureRef, load_catalogue
from features.definitions import LastNFeature
from features.errors import InvalidEntityId, UnknownFeatures
from features.serving import ServingValue, ServingValueError, decode_serving
from store.errors import (
    ColdStoreUnavailable,
    FeatureStoreUnavailable,
    ReadTimedOut,
    StoreError,
)
from store.feature_store import FeatureStore, serving_key
from store.hot import HotStoreUnavailable
from store.read_path import InteractionReader, JsonRow, ReadFailed

log = logging.getLogger("interstore.features")

EntityId = str | tuple[str, ...]
"""A one-key entity's id, or a composite id's keys in the entity's key order."""
Status = Literal["present", "missing", "stale"]
T = TypeVar("T")
_TRANSIENT = (HotStoreUnavailable, ColdStoreUnavailable, ReadTimedOut, FeatureStoreUnavailable)


class FeatureValue(NamedTuple):
    value: Any
    status: Status


class FeatureReader:
    """Built by ``build_feature_reader`` (the API and the tests alike)."""

    def __init__(
        self,
        catalogue: Catalogue,
        store: FeatureStore,
        interactions: InteractionReader,
        *,
        key_prefix: str,
        timeout_s: float | None = None,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.interactions = interactions
        self.key_prefix = key_prefix
        self.timeout_s = timeout_s
        self.clock = clock

    def resolve(self, entity: str, features: Sequence[str]) -> list[FeatureRef]:
        """UnknownFeatures naming the entity or every feature that is not one of its own."""
        if entity not in self.catalogue.entities:
            known = ", ".join(self.catalogue.entities)
            raise UnknownFeatures(f"unknown entity {entity!r}; known: {known}", [entity])
        found = [self.catalogue.features.get(name) for name in features]
        wrong = [
            name
            for name, ref in zip(features, found, strict=True)
            if ref is None or ref.group.entity != entity
        ]
        if wrong:
            listed = ", ".join(repr(name) for name in wrong)
            raise UnknownFeatures(
                f"not features of entity {entity!r}: {listed} (GET /v1/features lists them)",
                wrong,
            )
        return [ref for ref in found if ref is not None]

    def key_parts(self, entity: str, entity_id: EntityId) -> tuple[str, ...]:
        """An id as its keys; InvalidEntityId for the wrong number of keys."""
        keys = self.catalogue.entities[entity].keys
        parts = (entity_id,) if isinstance(entity_id, str) else tuple(entity_id)
        if len(parts) != len(keys) or not all(isinstance(p, str) for p in parts):
            raise InvalidEntityId(
                f"{entity} ids have {len(keys)} key(s) ({', '.join(keys)}), got {entity_id!r}"
            )
        return parts

    async def get(
        self,
        entity: str,
        ids: Sequence[EntityId],
        features: Sequence[str],
        *,
        now_ms: int | None = None,
    ) -> list[list[FeatureValue]]:
        """Rows in id order, values in feature order. UnknownFeatures, InvalidEntityId for bad
        input; FeatureStoreUnavailable when a backend is down or slow, another StoreError when
        it refuses."""
        refs = self.resolve(entity, features)
        parts = [self.key_parts(entity, entity_id) for entity_id in ids]
        now = self.clock() if now_ms is None else now_ms
        groups = list(dict.fromkeys(r.group.name for r in refs if r.served_index is not None))
        keys = [serving_key(self.key_prefix, entity, p, g) for p in parts for g in groups]
        sequences = [r for r in refs if r.served_index is None]
        raw, sequence_values = await asyncio.gather(
            self._bounded(f"feature read of {len(keys)} keys", self.store.read_values(keys)),
            self._sequences(sequences, [p[0] for p in parts]),
        )
        served = self._served(groups, raw, now)
        rows: list[list[FeatureValue]] = []
        width = len(groups)
        for row_index in range(len(parts)):
            row: list[FeatureValue] = []
            for ref in refs:
                if ref.served_index is None:
                    row.append(sequence_values[ref.name][row_index])
                    continue
                found = served[row_index * width + groups.index(ref.group.name)]
                if found is None:
                    row.append(FeatureValue(ref.default, "missing"))
                else:
                    value, status = found
                    row.append(FeatureValue(value.values[ref.served_index], status))
            rows.append(row)
        return rows

    def _served(
        self, groups: list[str], raw: list[bytes | None], now_ms: int
    ) -> list[tuple[ServingValue, Status] | None]:
        """Each key's decoded value and status; None where it reads as missing."""
        out: list[tuple[ServingValue, Status] | None] = []
        for position, data in enumerate(raw):
            if data is None:
                out.append(None)
                continue
            group = self.catalogue.groups[groups[position % len(groups)]]
            try:
                value = decode_serving(data)
            except ServingValueError as exc:
                log.warning("unreadable serving value of group %s: %s", group.name, exc)
                out.append(None)
                continue
            width = len(self.catalogue.served(group.name))
            if value.fingerprint != self.catalogue.fingerprints[group.name]:
                out.append(None)  # written under other definitions
            elif len(value.values) != width:
                log.warning("serving value of group %s has the wrong width", group.name)
                out.append(None)
            else:
                valid_until = value.valid_until_ms
                late = valid_until is not None and now_ms > valid_until + group.max_age_ms
                out.append((value, "stale" if late else "present"))
        return out

    async def _sequences(
        self, refs: list[FeatureRef], user_ids: list[str]
    ) -> dict[str, list[FeatureValue]]:
        """Each ``last_n`` feature's value per user: one read path call per set of kinds."""
        by_kinds: dict[tuple[str, ...], list[FeatureRef]] = {}
        for ref in refs:
            by_kinds.setdefault(ref.definition.event_kinds, []).append(ref)
        reads = [
            self._recent(user_ids, kinds, max(_last_n(r).n for r in same))
            for kinds, same in by_kinds.items()
        ]
        out: dict[str, list[FeatureValue]] = {}
        for same, rows_per_user in zip(
            by_kinds.values(), await asyncio.gather(*reads), strict=True
        ):
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
        self, user_ids: list[str], kinds: tuple[str, ...], limit: int
    ) -> list[list[JsonRow]]:
        if not user_ids:
            return []
        outcomes = await self.interactions.recent_json_many(user_ids, kinds=kinds, limit=limit)
        rows: list[list[JsonRow]] = []
        for outcome in outcomes:
            if isinstance(outcome, ReadFailed):
                raise _as_feature_error(outcome.error)
            rows.append(outcome.interactions)
        return rows

    async def _bounded(self, what: str, read: Awaitable[T]) -> T:
        try:
            if self.timeout_s is None:
                return await read
            async with asyncio.timeout(self.timeout_s):
                return await read
        except TimeoutError as error:
            raise FeatureStoreUnavailable(
                f"{what}: no answer within {self.timeout_s:g}s"
            ) from error


def _last_n(ref: FeatureRef) -> LastNFeature:
    assert isinstance(ref.definition, LastNFeature)
    return ref.definition


def _as_feature_error(error: StoreError) -> StoreError:
    if isinstance(error, _TRANSIENT):
        unavailable = FeatureStoreUnavailable(f"last_n read: {error}")
        unavailable.__cause__ = error
        return unavailable
    return error


def build_feature_reader(
    settings: Settings,
    store: FeatureStore,
    interactions: InteractionReader,
    *,
    catalogue: Catalogue | None = None,
    clock: Clock = wall_clock_ms,
) -> FeatureReader:
    """The one way to build a reader: the catalogue from ``settings.features.definitions_path``
    unless given; DefinitionError if that file is invalid."""
    features = settings.features
    return FeatureReader(
        catalogue or load_catalogue(features.definitions_path),
        store,
        interactions,
        key_prefix=features.key_prefix,
        timeout_s=features.read_timeout_s,
        clock=clock,
    )
