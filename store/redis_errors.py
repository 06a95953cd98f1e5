"""Which Redis error replies are an outage (retry), a full server (write through), or a bug."""

from __future__ import annotations

from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    TryAgainError,
)

from store.hot import HotStoreError, HotStoreFull, HotStoreUnavailable

TRANSIENT_ERRORS = (ReadOnlyError, MasterDownError, TryAgainError, ClusterDownError)
"""redis-py's classes for some error replies (it strips the reply's code from the message)."""
TRANSIENT_REPLIES = ("READONLY", "MASTERDOWN", "BUSY", "TRYAGAIN", "LOADING", "CLUSTERDOWN")
"""Error replies of a server that is failing over, loading, running a long script or
re-sharding: retried like a connection error. (OOM is HotStoreFull; a transaction aborted by
one of these says so after EXECABORT, a script after its own prefix.)"""


def classify(error: RedisError, what: str) -> HotStoreError:
    """The hot-tier error for a Redis error reply (not a connection error or a timeout)."""
    text = str(error)
    message = f"{what}: {type(error).__name__}: {text}"
    if isinstance(error, OutOfMemoryError) or "OOM command not allowed" in text:
        return HotStoreFull(message)
    if isinstance(error, TRANSIENT_ERRORS) or text.startswith(TRANSIENT_REPLIES):
        return HotStoreUnavailable(message)
    if text.startswith("EXECABORT") and any(code in text for code in TRANSIENT_REPLIES):
        return HotStoreUnavailable(message)
    return HotStoreError(message)
