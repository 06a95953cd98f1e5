"""``interstore forget user``: the store's Forgetter, opened from the settings."""

from __future__ import annotations

import asyncio
import getpass

from core.settings import Settings
from features.forgetting import UserFeatureEraser
from features.updater_factory import build_updater
from store.cassandra_session import open_session
from store.forgetting import ForgetReport, build_forgetter
from store.redis_hot import RedisHotStore


def forget(settings: Settings, user_id: str, *, reason: str) -> ForgetReport:
    session = open_session(settings.cassandra)
    hot = RedisHotStore(settings.redis, settings.session, settings.retention)

    async def run() -> ForgetReport:
        updater, control = build_updater(settings, session)
        features = UserFeatureEraser(updater, control, settings.topics.partitions)
        try:
            forgetter = build_forgetter(
                session, hot, keyspace=settings.cassandra.keyspace,
                retention=settings.retention,
                tombstone_refresh_s=settings.ops.tombstone_refresh_s, features=features,
            )  # fmt: skip
            return await forgetter.forget(user_id, reason=reason, actor=f"cli:{getpass.getuser()}")
        finally:
            await hot.close()
            await features.close()

    try:
        return asyncio.run(run())
    finally:
        session.cluster.shutdown()
