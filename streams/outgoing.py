"""Events on their way to Kafka: the checks every produced event passes, and JSON-line input.

The producer applies the worker's own rules (``validate`` on the record, ``check_payload_size``
on the encoded bytes) before anything is sent, so an app learns about a bad event from an
exception at the call site rather than from the dead-letter topic later. Nothing here talks to
Kafka: ``EventProducer`` and the ``produce`` command both build on these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.codec import Codec, Record, default_codec
from schemas.errors import InvalidEvent, UnencodableEvent
from schemas.json_events import parse_line
from schemas.validation import DEFAULT_LIMITS, ValidationLimits, check_payload_size, validate


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """A valid event, encoded: what goes on the wire."""

    kind: str
    event_id: str
    key: bytes
    """The user id, UTF-8: one user's events share a partition, hence a total order."""
    value: bytes
    """Avro single-object encoding (marker, writer fingerprint, body)."""


@dataclass(frozen=True, slots=True)
class AcceptedLine:
    line_no: int
    kind: str
    record: Record
    event: OutgoingEvent


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line_no: int
    reason: str
    """The ``InvalidEvent.reason`` code, the same the worker would dead-letter it under."""
    message: str


def prepare_event(
    kind: str,
    record: Mapping[str, Any],
    *,
    now_ms: int,
    codec: Codec | None = None,
    limits: ValidationLimits = DEFAULT_LIMITS,
) -> OutgoingEvent:
    """Validate and encode one event; every refusal is an ``InvalidEvent`` with a reason."""
    validate(kind, record, now_ms=now_ms, limits=limits)
    try:
        data = (codec or default_codec()).encode(kind, record)
    except UnencodableEvent as exc:
        raise InvalidEvent(exc.reason, str(exc)) from exc
    check_payload_size(data, limits)
    return OutgoingEvent(kind, record["event_id"], record["user_id"].encode(), data)


def parse_lines(
    lines: Iterable[bytes | str],
    *,
    clock: Callable[[], int],
    codec: Codec | None = None,
    limits: ValidationLimits = DEFAULT_LIMITS,
) -> Iterator[AcceptedLine | RejectedLine]:
    """Each non-blank JSON line, in order, as accepted (encoded) or rejected with a reason.

    Line numbers count from 1 and include blank lines, so they match the file. ``clock`` gives
    "now" in epoch milliseconds for the timestamp rules; a bad line never stops the others.
    """
    codec = codec or default_codec()
    for line_no, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            kind, record = parse_line(text, codec.catalogue)
            event = prepare_event(kind, record, now_ms=clock(), codec=codec, limits=limits)
        except InvalidEvent as exc:
            yield RejectedLine(line_no, exc.reason, str(exc))
            continue
        yield AcceptedLine(line_no, kind, record, event)
