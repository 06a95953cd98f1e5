"""Moved to ``deploy.private_redis`` (the soak uses it too); kept so tests written against the
old path still import."""

from deploy.private_redis import PrivateRedis, free_port, private_redis

__all__ = ["PrivateRedis", "free_port", "private_redis"]
