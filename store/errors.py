"""Errors of the stores."""

from interstore.errors import InterstoreError


class StoreError(InterstoreError):
    """A store operation failed; never turned into an empty result."""


class SchemaError(StoreError):
    """Applying the CQL schema failed."""
