"""The user's feature values for ``interstore inspect user``: each user group's serving value as
the features worker wrote it, with its age (``last_n`` features are read from interactions, not
stored, and left out)."""

from __future__ import annotations

from typing import Any

from features.catalogue import Catalogue
from features.serving import ServingValueError, decode_serving
from store.feature_generations import GenerationPointer
from store.feature_store import FeatureStore, serving_key

ENTITY = "user"


async def user_features(
    catalogue: Catalogue, store: FeatureStore, prefix: str, user_id: str, now_ms: int
) -> dict[str, Any]:
    """Per group of the user entity (in the current generation of the store): the values by
    feature name and their ages, or None."""
    prefix = await GenerationPointer(store, prefix, ttl_s=0).current_prefix()
    groups = catalogue.groups_of(ENTITY)
    keys = [serving_key(prefix, ENTITY, (user_id,), group.name) for group in groups]
    found: dict[str, Any] = {}
    for group, raw in zip(groups, await store.read_values(keys), strict=True):
        if raw is None:
            found[group.name] = None
            continue
        try:
            value = decode_serving(raw)
        except ServingValueError as exc:
            found[group.name] = {"error": str(exc)}
            continue
        names = [feature.name for feature in catalogue.served(group.name)]
        found[group.name] = {
            "values": dict(zip(names, value.values, strict=False)),
            "newest_event_age_s": round((now_ms - value.event_ts_ms) / 1000, 1),
            "computed_age_s": round((now_ms - value.computed_ts_ms) / 1000, 1),
            "current": value.fingerprint == catalogue.fingerprints[group.name],
        }
    return found
