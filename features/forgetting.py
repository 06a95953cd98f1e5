"""Erasing a forgotten user's features: the user's own entities (keyed first by ``user_id``:
user, user x category) in every live generation of the feature store (the current one and one
being rebuilt), serving values and both copies of the state (``FeatureUpdater.erase_user``).
``store.forgetting.Forgetter`` calls it through its ``FeatureEraser`` protocol, twice, like the
other tiers."""

from __future__ import annotations

from features.routing import local_shard, repartition_of
from features.updater import FeatureUpdater
from store.feature_generations import GenerationControl


class UserFeatureEraser:
    def __init__(self, updater: FeatureUpdater, control: GenerationControl, partitions: int):
        """``updater``: ungated (``build_updater(gated=False)``); ``partitions``: the events
        topic's (a user's shard is its events partition, murmur2 of the user id as the
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
            erased += await target.erase_user(user_id, shards, home)
        return erased

    async def close(self) -> None:
        await self.control.client.aclose()
