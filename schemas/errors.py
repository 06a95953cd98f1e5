"""Errors raised by the event schemas: one base class, one ``reason`` code each.

The worker routes every one of these to the dead-letter topic, so each carries a short,
stable, machine-readable ``reason`` (it becomes a Kafka header and a metric label) beside the
human message. Reason codes are part of the contract: rename one and dashboards break.
"""

from __future__ import annotations

from core.errors import InterstoreError


class SchemaError(InterstoreError):
    """Base of every schema, codec and validation error; ``reason`` says which one."""

    reason: str = "schema_error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        """The human-readable explanation (what ``str(error)`` gives)."""
        return str(self)


class CatalogueError(SchemaError):
    """The ``.avsc`` catalogue itself is broken: a deployment bug, never a bad event."""

    reason = "bad_catalogue"


class NotSingleObjectEncoded(SchemaError):
    """The bytes do not start with the Avro single-object marker, or are too short for one."""

    reason = "bad_magic"


class UnknownSchema(SchemaError):
    """The writer's fingerprint names no schema in the catalogue (a newer or foreign writer)."""

    reason = "unknown_schema"

    def __init__(self, fingerprint: bytes) -> None:
        super().__init__(
            f"no schema with CRC-64-AVRO fingerprint {fingerprint.hex()} "
            "(hex of the 8 bytes as on the wire, little-endian) in the catalogue"
        )
        self.fingerprint = fingerprint


class UndecodableEvent(SchemaError):
    """The header named a known schema but the body does not decode with it."""

    reason = "undecodable"


class UnencodableEvent(SchemaError):
    """A record does not fit the schema of its kind (wrong type, missing field, ...)."""

    reason = "unencodable"


class InvalidEvent(SchemaError):
    """The event decodes but breaks a business rule; ``reason`` names the rule."""

    reason = "invalid"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
