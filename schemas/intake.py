"""The one intake rule set every consumer of the events topic applies: size, decode, validate.

The live worker and the replay both call ``check_message`` and dead-letter what it refuses with
the same reasons and the same headers (``dead_letter_headers``), so a replay judges a message
exactly as the worker did.
"""

from __future__ import annotations

from schemas.codec import Codec, DecodedEvent
from schemas.errors import InvalidEvent
from schemas.validation import DEFAULT_LIMITS, ValidationLimits, check_payload_size, validate

HEADER_REASON = "interstore.reason"
HEADER_ERROR = "interstore.error"
HEADER_TOPIC = "interstore.source.topic"
HEADER_PARTITION = "interstore.source.partition"
HEADER_OFFSET = "interstore.source.offset"
MAX_ERROR_BYTES = 1024


def check_message(
    codec: Codec,
    value: bytes | None,
    *,
    key: bytes | None,
    now_ms: int,
    limits: ValidationLimits = DEFAULT_LIMITS,
) -> DecodedEvent:
    """Decode and validate one message; a ``SchemaError`` (with its reason) if bad. A tombstone
    or empty value (``empty_value``) and a record without a key (``missing_key``: the topic's
    per-user order rests on the key) have their own reasons."""
    if not value:
        raise InvalidEvent("empty_value", "the record has no value (a tombstone or empty)")
    if key is None:
        raise InvalidEvent("missing_key", "the record has no key (the user id is the key)")
    check_payload_size(value, limits)
    event = codec.decode(value)
    validate(event.kind, event.record, now_ms=now_ms, limits=limits)
    return event


def dead_letter_headers(
    reason: str, error: str, topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    """The headers of a dead letter: why, and where the original message was read."""
    return [
        (HEADER_REASON, reason.encode()),
        (HEADER_ERROR, error.encode()[:MAX_ERROR_BYTES]),
        (HEADER_TOPIC, topic.encode()),
        (HEADER_PARTITION, str(partition).encode()),
        (HEADER_OFFSET, str(offset).encode()),
    ]
