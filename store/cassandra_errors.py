"""How the cold tier reads the Cassandra driver's errors: which are worth a retry, which are a
replica's failure, which are the caller's fault."""

from __future__ import annotations

from cassandra import CoordinationFailure, DriverException, OperationTimedOut
from cassandra import RequestExecutionException as DriverRequestFailed
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionException
from cassandra.protocol import ErrorMessage, IsBootstrappingErrorMessage, OverloadedErrorMessage

from store.errors import ColdReplicaFailure, ColdStoreError, ColdStoreUnavailable, ColdWriteError

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (  # DriverRequestFailed: Unavailable, timeouts
    *(NoHostAvailable, OperationTimedOut, ConnectionException, DriverRequestFailed),
    *(OverloadedErrorMessage, IsBootstrappingErrorMessage),
)
DRIVER_ERRORS = (*TRANSIENT_ERRORS, DriverException, ErrorMessage)
BIND_ERRORS = (TypeError, ValueError, OverflowError, KeyError, AttributeError)


def mapped(exc: BaseException, what: str, permanent: type[ColdStoreError]) -> ColdStoreError:
    """Timeouts, unreachable or overloaded nodes: unavailable (retry). A replica's failure
    (ReadFailure, WriteFailure: a coordination failure, not a timeout) is not retried forever:
    a read fails loudly (``permanent``), a write is retried a bounded number of times."""
    cls: type[ColdStoreError] = permanent
    if isinstance(exc, CoordinationFailure):
        cls = ColdReplicaFailure if permanent is ColdWriteError else permanent
    elif isinstance(exc, TRANSIENT_ERRORS):
        cls = ColdStoreUnavailable
    return cls(f"{what}: {type(exc).__name__}: {exc}")
