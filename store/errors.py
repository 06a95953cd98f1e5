"""Errors of the stores."""

from core.errors import InterstoreError


class StoreError(InterstoreError):
    """A store operation failed; never turned into an empty result."""


class SchemaError(StoreError):
    """Applying the CQL schema failed."""


class ColdStoreError(StoreError):
    """A cold-tier operation failed."""


class ColdStoreUnavailable(ColdStoreError):
    """The cold tier could not be reached, timed out or was overloaded: transient. A failed
    ``write_many`` may have written part of the batch; retry the whole batch (writes are
    idempotent). A failed read returns nothing: retry it or fail the request."""


class ColdWriteError(ColdStoreError):
    """A write was refused for a reason retrying will not fix (invalid value, schema mismatch)."""


class ColdReadError(ColdStoreError):
    """A read was refused for a reason retrying will not fix (invalid query, schema mismatch)."""


class ReadTimedOut(StoreError):
    """A read took longer than its caller allows: transient, like an unavailable tier."""


class FeatureStoreError(StoreError):
    """A feature-store operation failed for a reason retrying will not fix."""


class FeatureStoreUnavailable(FeatureStoreError):
    """The feature store could not be reached or timed out: transient (the API's 503)."""
