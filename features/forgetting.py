"""Erasing a forgotten user's features: the user's own entities (keyed first by ``user_id``:
user, user x category) in every live generation of the feature store (the current one and one
being rebuilt), serving values and both copies of the state (``FeatureUpdater.erase_user``).
``store.forgetting.Forgetter`` calls it through its ``FeatureEraser`` protocol, twice, like the
other tiers."""

from __future__ import annotations

from collections.abc import Sequence

from features.routing import local_shard, repartition_of
from features.updater import ERASED, MAX_ATTEMPTS, FeatureUpdater, user_keyed
from store.feature_generations import GenerationControl
from store.feature_state import StateKey, StateWrite, StoredState


class UserFeatureEraser:
    def __init__(self, updater: FeatureUpdater, control: GenerationControl, partitions: int):
        """``updater``: ungated (``features.updater_factory.build_updater``); ``partitions``:
        the events topic's (a user's shard is its events partition, murmur2 of the user id as the
        producers key it; every shard is searched in the durable copy)."""
        self.updater = updater
        self.control = control
        self.partitions = partitions

    async def erase(self, user_id: str) -> int:
        """Returns how many entity states were erased, over every live generation."""
        shards = [local_shard(p) for p in range(self.partitions)]
        home = local_shard(repartition_of(user_id, self.partitions))
        erased = 0
        for generation in await self.control.live():
            target = self.updater.for_generation(generation)
            erased += await erase_user(target, user_id, shards, home)
        return erased

    async def close(self) -> None:
        await self.control.client.aclose()


async def erase_user(
    updater: FeatureUpdater, user_id: str, shards: Sequence[str], home: str
) -> int:
    """Replace the states of the user's own entities by ``ERASED`` (a new version, in both
    copies, so no older write comes back and the user's later states go on from it) and
    delete their serving values and index entries. ``shards``: where to look in the durable
    copy; ``home``: the shard of a state found only in the working copy. Returns how many
    entities were erased."""
    plans = [plan for plan in updater.plans.values() if user_keyed(plan)]
    found: dict[StateKey, tuple[str, int]] = {}
    for shard in shards:
        for plan in plans:
            for key, stored in await updater.durable.load_user(shard, plan.entity, user_id):
                found[key] = (shard, max(stored.version, found.get(key, (shard, 0))[1]))
    for plan in plans:
        if len(plan.keys) == 1:
            found.setdefault(StateKey(plan.entity, (user_id,)), (home, 0))
    pending = list(found)
    saved: list[tuple[str, StateKey, StoredState]] = []
    for _ in range(MAX_ATTEMPTS):
        if not pending:
            break
        writes: list[StateWrite] = []
        for key, known in zip(pending, await updater.working.read(pending), strict=True):
            shard, durable_version = found[key]
            if known is None and durable_version == 0:
                continue  # never stored
            current = None if known is None else known.version
            version = max(current or 0, durable_version) + 1
            writes.append(StateWrite(shard, key, current, version, ERASED, {}, None))
        done = await updater.working.write(writes)
        saved += [
            (w.shard, w.key, StoredState(w.version, ERASED))
            for w, ok in zip(writes, done, strict=True)
            if ok
        ]
        pending = [w.key for w, ok in zip(writes, done, strict=True) if not ok]
    if pending:
        raise RuntimeError(f"{len(pending)} states of {user_id} kept changing while erased")
    await updater.durable.save(saved)
    keys = list(found)
    values = [v for key in keys for v in updater.keys_of(key)]
    await updater.working.erase(sorted({*shards, home}), keys, values)
    return len(saved)
